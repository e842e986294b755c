"""What the simulated customers (and the business) do; every step is a service call.

Each action runs at the clock's current time and first checks that it still applies (the
subscription may have ended or changed since the action was planned); if not, it is
counted as skipped.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from assina.catalog.models import Plan
from assina.core.invoice_states import InvoiceStatus
from assina.core.states import SubscriptionStatus
from assina.customers.services import get_customer
from assina.invoices.models import Invoice
from assina.invoices.services import mark_uncollectible
from assina.payments.gateway import CardError
from assina.payments.new_customer import create_customer
from assina.payments.services import attach_card, pay_invoice
from assina.subscriptions import services as subs
from assina.subscriptions.changes import change_subscription
from assina.subscriptions.models import Subscription, SubscriptionItem

from . import business as biz
from .people import People

S = SubscriptionStatus
GOOD_CARD = "4242424242424242"
FAILING_CARD = "4000000000000341"  # attaches, then every charge fails
DECLINED_CARD = "4000000000000002"  # declined already when attached

# Who the customers are (customer metadata "segment", a dashboard filter).
SEGMENTS = (("salon", 45), ("clinic", 25), ("barbershop", 20), ("spa", 10))
# Of the paying customers who cancel, how many come back later (a reactivation) and when.
WIN_BACK_SHARE = 0.15
WIN_BACK_DAYS = (20, 150)
# Plan families (the plan's code follows the customer's currency: ``biz.plan_code``).
SIGNUP_PLANS = ((biz.BASIC, 36), (biz.PRO, 32), (biz.BUSINESS, 18), (biz.PRO_ANNUAL, 14))
SEATS = ((2, 30), (3, 25), (4, 15), (5, 12), (6, 8), (8, 6), (10, 4))
PLAN_MOVES = {biz.BASIC: ((biz.PRO, "up"), (biz.BUSINESS, "up")), biz.PRO: ((biz.BASIC, "down"), (biz.BUSINESS, "up")),
              biz.BUSINESS: ((biz.PRO, "down"), (biz.BASIC, "down")), biz.PRO_ANNUAL: ((biz.PRO, "down"),)}


class CustomerActions:
    """The actions, named after the ``_at(when, name)`` schedule entries that trigger them.

    The host (``runner.Simulation``) provides the seeded ``rng``, the ``people`` generator,
    the simulated ``clock``, the ``counts`` of what happened and ``_at`` to schedule more.
    """

    rng: random.Random
    # The extras (segments, win-backs, second locations, and everything the subscriptions they
    # create do) draw from their own generator, so a seed's main history stays what it was.
    extra: random.Random
    _extra_subs: set[int]
    people: People
    clock: datetime
    counts: Counter
    _with_addon: set[int]
    _at: Callable[..., None]  # _at(when, action, *args): schedule an action

    def _live(self, pk: int, *statuses: S) -> Subscription | None:
        """The subscription if it is still in one of ``statuses`` and not leaving; else count a skip."""
        sub = subs.get_subscription(pk)
        if sub.status in statuses and not sub.cancel_at_period_end:
            return sub
        self.counts["skipped_no_longer_applicable"] += 1
        return None

    def _reason(self) -> str:
        return self.rng.choices([r for r, _ in biz.CANCEL_REASONS], weights=[w for _, w in biz.CANCEL_REASONS])[0]

    # --- what customers (and the business) do -------------------------------------------
    def _signup(self) -> None:
        rng, person = self.rng, self.people.next()
        plan = rng.choices([p for p, _ in SIGNUP_PLANS], weights=[w for _, w in SIGNUP_PLANS])[0]
        currency = person.currency
        trial = plan == biz.PRO
        draw = rng.random()
        card = GOOD_CARD if draw < (0.70 if trial else 0.96) else FAILING_CARD if draw < (0.74 if trial else 1) else None
        segment = self.extra.choices([s for s, _ in SEGMENTS], weights=[w for _, w in SEGMENTS])[0]
        details = {"email": person.email, "name": person.name, "locale": person.locale, "country": person.country,
                   "time_zone": person.time_zone, "currency": currency, "metadata": {"segment": segment}}
        if card and rng.random() < 0.03:
            try:
                create_customer(**details, card=DECLINED_CARD, at=self.clock)
            except CardError:
                self.counts["cards_declined_at_signup"] += 1  # they try again with another card
        customer = create_customer(**details, card=card, at=self.clock)
        quantity = rng.choices([q for q, _ in SEATS], weights=[w for _, w in SEATS])[0] if plan == biz.BUSINESS else 1
        addons = [(biz.plan_code(biz.ADDON, currency), 1)] if plan in biz.MONTHLY_FAMILIES and rng.random() < 0.2 else []
        coupon = None
        if plan in biz.MONTHLY_FAMILIES and rng.random() < 0.15:
            coupon = biz.WELCOME_PROMO[currency]
        elif plan == biz.PRO and rng.random() < 0.10 and currency == biz.CURRENCY:  # partners are in Brazil
            coupon = biz.PARTNER_COUPON
        sub = subs.create_subscription(customer=customer, plan_code=biz.plan_code(plan, currency), quantity=quantity,
                                       coupon_code=coupon, addons=addons)
        self.counts["signups"] += 1
        if coupon:
            self.counts["coupons_redeemed"] += 1
        if card == FAILING_CARD:
            self.counts["failing_cards"] += 1
        if addons:
            self._with_addon.add(sub.pk)
        if sub.status == S.INCOMPLETE.value:
            # The first payment failed; half of them fix it before it expires (23 hours).
            if rng.random() < 0.5:
                self._at(self.clock + timedelta(hours=rng.uniform(0.5, 20)), "fix_payment", customer.pk)
        elif sub.status == S.TRIALING.value and card is None:
            self.counts["trials_without_card"] += 1
            left, draw = sub.trial_end - self.clock, rng.random()
            if draw < 0.55:
                self._at(self.clock + left * rng.uniform(0.1, 0.95), "add_card", customer.pk)
            elif draw < 0.80:
                self._at(self.clock + left * rng.uniform(0.2, 0.9), "cancel_trial", sub.pk)

    def _add_card(self, customer_id: int) -> None:
        attach_card(get_customer(customer_id), GOOD_CARD, self.clock)
        self.counts["cards_added"] += 1

    def _fix_payment(self, customer_id: int) -> None:
        """A new working card, then every open invoice paid with it (adding the card retries them at once)."""
        was_open = list(Invoice.objects.filter(customer_id=customer_id, status=InvoiceStatus.OPEN.value).values_list("pk", flat=True))
        self._add_card(customer_id)
        self.counts["invoices_paid_late"] += Invoice.objects.filter(pk__in=was_open, status=InvoiceStatus.PAID.value).count()
        open_ids = (Invoice.objects.filter(customer_id=customer_id, status=InvoiceStatus.OPEN.value)
                    .order_by("pk").values_list("pk", flat=True))
        for invoice_id in list(open_ids):
            attempt = pay_invoice(invoice_id, self.clock)
            if attempt is not None and attempt.status == attempt.Status.SUCCEEDED:
                self.counts["invoices_paid_late"] += 1

    def _give_up(self, pk: int) -> None:
        """The business ends a subscription whose invoices stayed unpaid and writes them off."""
        if subs.get_subscription(pk).status != S.PAST_DUE.value:
            self.counts["skipped_no_longer_applicable"] += 1
            return
        subs.cancel_now(pk, reason="payment_failed")
        open_ids = (Invoice.objects.filter(subscription_id=pk, status=InvoiceStatus.OPEN.value)
                    .order_by("pk").values_list("pk", flat=True))
        for invoice_id in list(open_ids):
            mark_uncollectible(invoice_id, self.clock)
        self.counts["canceled_for_nonpayment"] += 1

    def _cancel_trial(self, pk: int) -> None:
        if self._live(pk, S.TRIALING) is None:
            return
        if self.rng.random() < 0.5:
            subs.cancel_now(pk, reason=self._reason())
            self.counts["canceled_now"] += 1
        else:
            subs.cancel_at_period_end(pk, reason=self._reason())
            self.counts["canceled_at_period_end"] += 1

    def _maybe_win_back(self, sub: Subscription, ends: datetime) -> None:
        """Some paying customers who leave come back weeks or months later (a reactivation)."""
        if self.extra.random() < WIN_BACK_SHARE:
            self._at(ends + timedelta(days=self.extra.uniform(*WIN_BACK_DAYS)), "win_back", sub.customer_id)

    def _win_back(self, customer_id: int) -> None:
        if Subscription.objects.filter(customer_id=customer_id).exclude(status=S.CANCELED.value).exists():
            self.counts["skipped_no_longer_applicable"] += 1
            return
        customer = get_customer(customer_id)
        if customer.default_payment_method_id is None:
            attach_card(customer, GOOD_CARD, self.clock)
        plan = self.extra.choice((biz.BASIC, biz.PRO, biz.BUSINESS))
        quantity = self.extra.choice((2, 3)) if plan == biz.BUSINESS else 1
        sub = subs.create_subscription(customer=customer, plan_code=biz.plan_code(plan, customer.currency),
                                       quantity=quantity, trial_days=0)
        self._extra_subs.add(sub.pk)
        self.counts["won_back"] += 1

    def _add_location(self, pk: int) -> None:
        """A growing customer opens another location: a second subscription next to the first."""
        sub = self._live(pk, S.ACTIVE)
        if sub is None:
            return
        second = subs.create_subscription(customer=sub.customer, plan_code=biz.plan_code(biz.BASIC, sub.currency))
        self._extra_subs.add(second.pk)
        self.counts["second_subscriptions"] += 1

    def _cancel_at_period_end(self, pk: int) -> None:
        sub = self._live(pk, S.ACTIVE)
        if sub is None:
            return
        subs.cancel_at_period_end(pk, reason=self._reason())
        self.counts["canceled_at_period_end"] += 1
        self._maybe_win_back(sub, sub.current_period_end)
        window = sub.current_period_end - self.clock - timedelta(hours=1)
        if self.rng.random() < 0.25 and window > timedelta(hours=1):
            self._at(self.clock + window * self.rng.random(), "reactivate", pk)

    def _reactivate(self, pk: int) -> None:
        sub = subs.get_subscription(pk)
        if sub.status == S.CANCELED.value or not sub.cancel_at_period_end:
            self.counts["skipped_no_longer_applicable"] += 1
            return
        subs.reactivate(pk)
        self.counts["reactivated"] += 1

    def _cancel_now(self, pk: int) -> None:
        sub = self._live(pk, S.ACTIVE)
        if sub is not None:
            subs.cancel_now(pk, prorate=self.rng.random() < 0.5, reason=self._reason())
            self.counts["canceled_now"] += 1
            self._maybe_win_back(sub, self.clock)

    def _pause(self, pk: int) -> None:
        if self._live(pk, S.ACTIVE) is None:
            return
        if self.rng.random() < 0.6:
            subs.pause(pk, resumes_at=self.clock + timedelta(days=self.rng.randint(21, 75)))
        else:
            subs.pause(pk)
            self._at(self.clock + timedelta(days=self.rng.uniform(10, 60)), "resume", pk)
        self.counts["paused"] += 1

    def _resume(self, pk: int) -> None:
        if subs.get_subscription(pk).status != S.PAUSED.value:
            self.counts["skipped_no_longer_applicable"] += 1
            return
        subs.resume(pk)
        self.counts["resumed"] += 1

    def _change_plan(self, pk: int) -> None:
        sub = self._live(pk, S.ACTIVE)
        if sub is None:
            return
        rng, current = self.rng, biz.FAMILY[sub.plan.code]
        target, direction = rng.choice(PLAN_MOVES[current])
        quantity = rng.choice((2, 3, 4)) if target == biz.BUSINESS else 1
        at_period_end = current == biz.PRO_ANNUAL or (direction == "down" and rng.random() < 0.6)
        invoice_now = not at_period_end and rng.random() < 0.4
        change_subscription(pk, plan_code=biz.plan_code(target, sub.currency), quantity=quantity,
                            at_period_end=at_period_end, invoice_now=invoice_now)
        self.counts[f"{direction}grades{'_at_period_end' if at_period_end else ''}"] += 1

    def _change_seats(self, pk: int) -> None:
        if self._live(pk, S.ACTIVE) is None:
            return
        seats = (SubscriptionItem.objects.filter(subscription_id=pk, plan_version__plan__kind=Plan.Kind.BASE)
                 .values_list("quantity", flat=True).get())
        more = self.rng.random() < 0.65 or seats == 1
        target = seats + self.rng.randint(1, 3) if more else max(1, seats - self.rng.randint(1, 2))
        at_period_end = not more and self.rng.random() < 0.5
        change_subscription(pk, quantity=target, at_period_end=at_period_end,
                            invoice_now=more and self.rng.random() < 0.3)
        self.counts["seats_added" if more else "seats_removed"] += 1

    def _go_annual(self, pk: int) -> None:
        sub = self._live(pk, S.ACTIVE)
        if sub is None:
            return
        if biz.FAMILY[sub.plan.code] not in (biz.BASIC, biz.PRO):  # changed plan since this was planned
            self.counts["skipped_no_longer_applicable"] += 1
            return
        change_subscription(pk, plan_code=biz.plan_code(biz.PRO_ANNUAL, sub.currency), quantity=1)
        self.counts["switched_to_annual"] += 1

    def _raise_price(self) -> None:
        biz.raise_basic_price(self.clock)
        self.counts["price_changes"] += 1
