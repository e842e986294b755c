"""Running playbooks: find the customers whose trigger fired, run the actions, log each run.

``run_playbooks(at)`` checks every active playbook (the worker's job does it every hour): each
customer its trigger finds that had no run of it in the last ``period_days`` gets one
``PlaybookRun`` with a ``playbook.run`` event on their timeline, in the same transaction as its
actions:

- e-mail: the chosen campaign, rendered in the customer's language, queued once per run
  (``notifications.campaigns.send_to``);
- coupon: an offer on the customer's portal home (``PlaybookOffer``, one per run, with a
  ``playbook.offer_made`` event), valid ``offer_days`` days; nothing is discounted until the
  customer accepts it (``accept_offer``: ``subscriptions.discounts.apply_discount`` from the next
  invoice, source ``playbook``, a ``playbook.offer_accepted`` event and a confirmation e-mail);
- task: a task for the owner (``engagement.services.add_task``, source ``playbook:<id>``);
- webhooks: a ``playbook.webhook`` event, delivered to the endpoints subscribed to it.

An action that is refused (a discount already running, a coupon that does not fit the plan, an
e-mail address that bounces) is logged with its reason; the other actions still run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext as _

from assina.core.discounts import check_redeemable
from assina.core.errors import DomainError
from assina.core.states import SubscriptionStatus
from assina.engagement.services import add_task
from assina.events.services import record
from assina.i18n import localized_message
from assina.notifications.campaigns import send_to
from assina.notifications.catalog import TRANSACTIONAL
from assina.notifications.context import local_date
from assina.notifications.outbox import Draft, queue
from assina.notifications.rendering import django_language, message_locale
from assina.subscriptions.discounts import apply_discount
from assina.subscriptions.models import Subscription
from assina.time import now as clock_now

from . import signals
from .models import Playbook, PlaybookOffer, PlaybookRun, Trigger
from .wording import coupon_sentence, terms_of

EVERY = timedelta(hours=1)


def candidates(playbook: Playbook, at: datetime) -> dict[int, dict]:
    """Customer id -> what met the trigger now (before the once-per-period rule)."""
    # Event-like triggers look back one period, and never before the playbook existed.
    since = max(playbook.created_at, at - timedelta(days=playbook.period_days))
    match playbook.trigger:
        case Trigger.HEALTH_BELOW:
            return signals.current_health_below(playbook.threshold)
        case Trigger.RISK_ABOVE:
            return signals.current_risk_above(playbook.threshold / 100)
        case Trigger.INACTIVE:
            return signals.current_inactive(playbook.threshold, at)
        case Trigger.DETRACTOR:
            return signals.current_detractors(since, at)
        case Trigger.PAYMENT_FAILED:
            return signals.current_failed_payments(since, at)
        case Trigger.MILESTONE_MISSED:
            days = playbook.threshold if playbook.threshold is not None else playbook.milestone.due_days
            return signals.current_missed_milestone(playbook.milestone.event_name, days,
                                                    at - timedelta(days=playbook.period_days), at)
    return {}


def _recently_run(playbook: Playbook, at: datetime) -> set[int]:
    return set(PlaybookRun.objects.filter(playbook=playbook, fired_at__gt=at - timedelta(days=playbook.period_days))
               .values_list("customer_id", flat=True))


def _attempt(action: str, work) -> dict:
    try:
        with transaction.atomic():
            detail = work()
        return {"action": action, "outcome": "done", "detail": detail}
    except DomainError as exc:
        return {"action": action, "outcome": "refused", "detail": localized_message(exc)}


def _actions(playbook: Playbook, run: PlaybookRun, at: datetime) -> list[dict]:
    customer_id = run.customer_id
    done = []
    if playbook.email_campaign_id:
        def email():
            counts = send_to(playbook.email_campaign_id, [customer_id], f"playbook:{run.pk}:customer:{{pk}}", at)
            return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or _("nothing to send")
        done.append(_attempt("email", email))
    if playbook.coupon_id:
        def coupon():
            offer = make_offer(playbook, run, at)
            return f"offer_{offer.pk}: {playbook.coupon.code} → sub_{offer.subscription_id}"
        done.append(_attempt("coupon", coupon))
    if playbook.task_title.strip():
        def task():
            made = add_task(customer_id, title=playbook.task_title, due_at=at + timedelta(days=playbook.task_due_days),
                            source=f"playbook:{playbook.pk}", at=at)
            return f"task_{made.pk}"
        done.append(_attempt("task", task))
    if playbook.call_webhook:
        def webhook():
            record("playbook.webhook", run, at, {"playbook": playbook.pk, "name": playbook.name, "trigger": playbook.trigger,
                                                 "reason": run.reason})
            return "playbook.webhook"
        done.append(_attempt("webhook", webhook))
    return done


def run_playbook(playbook_id: int, at: datetime) -> dict:
    """Check one playbook now; run it for each customer it fires for. Returns the counts."""
    with transaction.atomic():
        playbook = Playbook.objects.select_for_update(of=("self",)).select_related("milestone", "coupon").get(pk=playbook_id)
        if not playbook.active:
            return {"playbook": playbook.pk, "fired": 0, "skipped": 0}
        found = candidates(playbook, at)
        recent = _recently_run(playbook, at)
        fired = 0
        for customer_id in sorted(found):
            if customer_id in recent:
                continue
            run = PlaybookRun.objects.create(playbook=playbook, customer_id=customer_id, fired_at=at,
                                             reason={"trigger": playbook.trigger, **found[customer_id]})
            run.actions = _actions(playbook, run, at)
            run.save(update_fields=["actions"])
            record("playbook.run", run, at, {"playbook": playbook.pk, "name": playbook.name, "trigger": playbook.trigger,
                                             "reason": run.reason, "actions": run.actions})
            fired += 1
        playbook.checked_at = at
        playbook.save(update_fields=["checked_at"])
    return {"playbook": playbook.pk, "name": playbook.name, "fired": fired, "skipped": len(found) - fired}


def run_playbooks(at: datetime) -> dict:
    results = [run_playbook(pk, at) for pk in Playbook.objects.filter(active=True).order_by("pk").values_list("pk", flat=True)]
    return {"playbooks": results, "fired": sum(r["fired"] for r in results)}


def create_playbook(*, name: str, trigger: str, at: datetime, **fields) -> Playbook:
    """A new playbook, checked like the admin's form (``Playbook.clean``)."""
    from django.core.exceptions import ValidationError

    playbook = Playbook(name=name, trigger=trigger, created_at=at, **fields)
    try:
        playbook.full_clean()
    except ValidationError as exc:
        raise DomainError("; ".join(exc.messages)) from None
    playbook.save()
    return playbook


# --- the coupon offered in the portal ---------------------------------------------------------------

OFFER_ACCEPTED_MESSAGE = "playbook_offer_accepted"
# An offer on a subscription in one of these, or cancelling at its period's end, is not shown:
# it ended, or a discount cannot go on it (``subscriptions.discounts``), or there is no next invoice.
NOT_DISCOUNTABLE = (SubscriptionStatus.CANCELED.value, SubscriptionStatus.INCOMPLETE.value, SubscriptionStatus.PAUSED.value)


class OfferError(DomainError):
    """An offer that cannot be accepted or declined now (ended, or its discount refused); nothing changed."""


class OfferNotFound(Exception):
    """Not this customer's offer (a 404: whose it is stays unsaid)."""


def _discount_running(sub: Subscription) -> bool:
    """The subscription's discount applies to its current period or a later one: an offer would
    replace a discount the customer has (or be refused), so none is made."""
    if not sub.coupon_id or sub.discount_applies_from is None:
        return False
    return sub.discount_applies_until is None or sub.discount_applies_until > sub.current_period_start


def make_offer(playbook: Playbook, run: PlaybookRun, at: datetime) -> PlaybookOffer:
    """The run's coupon offered to its customer on their portal home for ``offer_days`` days
    (``playbook.offer_made``). One per run: a retry of the run finds it and makes no other.
    Refused (``DomainError``) when the customer has no running subscription billed by Assina,
    when it already has a discount, or when the coupon cannot be redeemed on its plan."""
    found = PlaybookOffer.objects.filter(run=run).first()
    if found is not None:
        return found
    sub = (Subscription.objects.select_related("plan").filter(customer_id=run.customer_id, status__in=("active", "past_due", "trialing"),
                                                             imported_at__isnull=True, ended_at__isnull=True)
           .order_by("-started_at", "-pk").first())
    if sub is None:
        raise DomainError(_("no running subscription billed by Assina to discount"))
    if _discount_running(sub):
        raise DomainError(_("subscription sub_%(id)s already has a discount") % {"id": sub.pk})
    coupon = playbook.coupon
    if not coupon.active:
        raise DomainError(_("coupon %(code)s is no longer active") % {"code": coupon.code})
    if coupon.amount_off is not None and coupon.currency != sub.currency:
        raise DomainError(_("coupon %(code)s takes off an amount in %(coupon_currency)s; the subscription bills in "
                            "%(currency)s") % {"code": coupon.code, "coupon_currency": coupon.currency,
                                               "currency": sub.currency})
    check_redeemable(coupon.to_core(), sub.plan.code, at, coupon.times_redeemed)
    offer = PlaybookOffer.objects.create(run=run, customer_id=run.customer_id, subscription=sub, coupon=coupon,
                                         created_at=at, expires_at=at + timedelta(days=playbook.offer_days))
    record("playbook.offer_made", offer, at, {"playbook": playbook.pk, "run": run.pk, "coupon": coupon.code,
                                              "subscription": sub.pk, "expires_at": offer.expires_at.isoformat()})
    return offer


def open_offers(customer_id: int, at: datetime):
    """The customer's offers they may still accept, newest first: not accepted, declined or
    expired, on a subscription that has not ended, is not paused or cancelling and has no
    discount running (another offer accepted, the owner's), with a coupon still active."""
    return (PlaybookOffer.objects.filter(customer_id=customer_id, accepted_at__isnull=True, declined_at__isnull=True,
                                         expires_at__gt=at, subscription__ended_at__isnull=True, coupon__active=True)
            .filter(subscription__cancel_at_period_end=False).exclude(subscription__status__in=NOT_DISCOUNTABLE)
            .filter(Q(coupon__redeem_by__isnull=True) | Q(coupon__redeem_by__gt=at))
            # No discount running (``_discount_running``): accepting would replace it.
            .filter(Q(subscription__coupon__isnull=True) | Q(subscription__discount_applies_from__isnull=True)
                    | Q(subscription__discount_applies_until__lte=F("subscription__current_period_start")))
            .order_by("-created_at", "-id"))


def _still_open(offer: PlaybookOffer, at: datetime) -> bool:
    """``open_offers``' rule for one offer (its discount running is checked apart, with its own
    message): not declined or expired, on a subscription that has not ended, is not paused or
    cancelling, with a coupon still active and redeemable."""
    sub, coupon = offer.subscription, offer.coupon
    return (offer.declined_at is None and offer.expires_at > at and sub.ended_at is None
            and not sub.cancel_at_period_end and sub.status not in NOT_DISCOUNTABLE and coupon.active
            and (coupon.redeem_by is None or coupon.redeem_by > at))


def customers_offer(customer_id: int, offer_id: int) -> PlaybookOffer:
    offer = (PlaybookOffer.objects.select_related("run", "coupon", "subscription__plan", "customer")
             .filter(pk=offer_id, customer_id=customer_id).first())
    if offer is None:
        raise OfferNotFound
    return offer


def accept_offer(customer_id: int, offer_id: int) -> PlaybookOffer:
    """The customer takes their offer: its coupon goes on the offer's subscription from its next
    invoice (``apply_discount``, source ``playbook``), ``playbook.offer_accepted`` is recorded and
    the confirmation e-mail queued, all in one transaction. Accepting an accepted offer again
    changes nothing (a double POST applies the coupon once). Raises ``OfferNotFound`` for another
    customer's offer, ``OfferError`` when it has ended or its discount is refused."""
    at = clock_now()
    with transaction.atomic():
        offer = customers_offer(customer_id, offer_id)
        if offer.accepted_at is not None:
            return offer
        # The subscription locked before it is judged: of two offers accepted at once, the second
        # sees the first one's discount (and is refused) instead of replacing it.
        offer.subscription = (Subscription.objects.select_for_update(of=("self",)).select_related("plan")
                              .get(pk=offer.subscription_id))
        if not _still_open(offer, at):
            raise OfferError(_("This offer has ended."))
        if _discount_running(offer.subscription):
            raise OfferError(_("Your subscription already has a discount: this offer cannot be added to it."))
        # The claim: of two requests at once, one updates the row; the other finds it taken.
        if not PlaybookOffer.objects.filter(pk=offer.pk, accepted_at__isnull=True, declined_at__isnull=True).update(accepted_at=at):
            offer.refresh_from_db(fields=["accepted_at", "declined_at"])
            if offer.accepted_at is not None:
                return offer
            raise OfferError(_("This offer has ended."))
        try:
            # Refused for a subscription that ended or is paused, a coupon no longer redeemable...
            sub = apply_discount(offer.subscription_id, coupon=offer.coupon, source="playbook")
        except DomainError as refused:  # the claim above is rolled back with the transaction
            raise OfferError(_("We could not apply this offer to your subscription: %(reason)s")
                             % {"reason": localized_message(refused)}) from None
        offer.accepted_at = at
        record("playbook.offer_accepted", offer, at, {
            "playbook": offer.run.playbook_id, "run": offer.run_id, "coupon": offer.coupon.code, "subscription": sub.pk,
            "effective_at": sub.discount_applies_from.isoformat(),
            "ends_at": sub.discount_applies_until.isoformat() if sub.discount_applies_until else None})
        _queue_accepted_message(offer, sub, at)
    return offer


def decline_offer(customer_id: int, offer_id: int) -> PlaybookOffer:
    """"No thanks": the offer leaves the portal (``playbook.offer_declined`` on the customer's
    timeline). Declining twice, or after accepting, changes nothing."""
    at = clock_now()
    with transaction.atomic():
        offer = customers_offer(customer_id, offer_id)
        if PlaybookOffer.objects.filter(pk=offer.pk, accepted_at__isnull=True, declined_at__isnull=True).update(declined_at=at):
            record("playbook.offer_declined", offer, at, {"playbook": offer.run.playbook_id, "run": offer.run_id,
                                                          "coupon": offer.coupon.code, "subscription": offer.subscription_id})
        offer.refresh_from_db(fields=["accepted_at", "declined_at"])
    return offer


def accepted_words(offer: PlaybookOffer, sub: Subscription) -> dict:
    """What the accepted offer gives and from when, in the active language and the customer's locale."""
    customer = offer.customer
    locale = message_locale(customer.locale)
    return {"discount": coupon_sentence(terms_of(offer.coupon), locale), "plan": sub.plan.name,
            "starts_on": local_date(sub.discount_applies_from, locale, customer.time_zone)}


def _queue_accepted_message(offer: PlaybookOffer, sub: Subscription, at: datetime) -> None:
    customer = offer.customer
    with translation.override(django_language(customer.locale)):
        words = accepted_words(offer, sub)
    queue([Draft(key=f"{OFFER_ACCEPTED_MESSAGE}:offer:{offer.pk}", template=OFFER_ACCEPTED_MESSAGE, customer=customer,
                 due_at=at, context={"offer": words}, kind=TRANSACTIONAL)], at)
