"""Checkout: sessions, the checks of the form, and completing a purchase exactly once.

A checkout session is made by the API (``create_session``) or by the first POST of the
/checkout/<plan>/ form, whose signed token is its key (``open_page_session``). Everything the
visitor typed is checked before anything is written (a bad field changes nothing); then the
session is taken for completing it (``open`` → ``processing``): the page's first POST makes it
taken, an API session's POST claims it with one conditional UPDATE. The request that holds it
makes, in one transaction, the customer with the card (``customers.services``, as
``payments.new_customer`` does), the subscription with its first invoice and payment attempt
(``subscriptions.services.write_opening``, its plan and versions read by ``prepare_opening``
before the transaction) and the completed session, then charges the first period; a second POST of the same form (a double click, a retry) waits for that result
instead and shows it. One customer, one subscription, one charge.

An e-mail that is already a customer's gets no new customer and no charge: the page says the
same as for a new one (no enumeration), and the address is mailed a sign-in link to its portal
(``portal.services.request_link``). See docs/selling.md.
"""

from __future__ import annotations

import secrets
import time as wall_time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from assina.catalog import queries as catalog_queries
from assina.catalog.models import Plan
from assina.catalog.services import check_promotion_code as check_code
from assina.core.errors import DomainError
from assina.core.shipping import InvalidAddress, normalize_address
from assina.core.states import LIVE
from assina.core.tax_ids import brazilian_tax_id, formatted
from assina.customers.models import Customer
from assina.customers import queries as queries_customers
from assina.customers.services import check_country, check_new_customer, insert_customer
from assina.db import insert_one, update_many
from assina.events.services import record
from assina.i18n import localized_message
from assina.payments.gateways import get_gateway
from assina.payments.services import adopt_remote_customer, attach_card_token, check_card, collect
from assina.portal import services as portal
from assina.subscriptions.models import Subscription, SubscriptionItem
from assina.subscriptions.services import prepare_opening, write_opening
from assina.time import now as clock_now
from assina.upgrades.models import AnnualOffer

from . import checkout_events, queries
from .checkout_events import Offered
from .models import CheckoutSession, CheckoutSuggestion

SESSION_AGE = timedelta(hours=24)
CLAIM_TIMEOUT = timedelta(minutes=5)  # a claim older than this (a crashed process) is taken over
WAIT_SECONDS = 20  # how long a second POST waits for the first one's result
MAX_SUGGESTIONS = 3
MAX_ADDONS = 3
# POSTs of the checkout form per client address per hour (a visitor retrying a declined card
# stays far below it; a script trying stolen cards or e-mails does not).
PER_ADDRESS = 20
THROTTLE_WINDOW = timedelta(hours=1)
KEY_PREFIX = "cs_"


class CheckoutError(DomainError):
    """A refusal shown to the visitor (already translated); ``field`` names the form field."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.code = f"invalid_{field}" if field else "checkout_error"  # the API's problem code


class Throttled(Exception):
    pass


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


# --- plans, suggestions, the pricing table --------------------------------------------------

def sellable_plan(code: str, *, public_only: bool) -> Plan:
    """The active base plan ``code`` (only a public one for the /checkout/<plan>/ page)."""
    plan = catalog_queries.active_plan(code, Plan.Kind.BASE)
    if plan is None or (public_only and not plan.public):
        raise CheckoutError(_("This plan is not on sale."), "plan")
    return plan


def _compatible(plan: Plan):
    return Plan.objects.filter(kind=Plan.Kind.ADDON, active=True, currency=plan.currency, interval=plan.interval,
                               interval_count=plan.interval_count)


POPULAR_SECONDS = 60  # how long a process keeps a plan's most held add-ons (a count over its subscriptions)
_popular: dict[int, tuple[float, list[tuple[int, int]], int]] = {}


@dataclass(frozen=True)
class AddonSuggestion:
    """An add-on the checkout page offers, and why: ``kind`` is ``owner_choice`` (Selling ›
    Add-ons suggested at checkout), ``popular`` (``held`` of the plan's ``live`` subscriptions
    have it) or ``available`` (a compatible add-on filling the list while the plan has too
    little history)."""

    addon: Plan
    kind: str
    held: int = 0
    live: int = 0

    def reason(self, plan: Plan) -> str:
        """Why it is offered, in the active language."""
        percent = self.held * 100 // self.live if self.live else 0
        if self.kind == "owner_choice":
            return _("Recommended with %(plan)s.") % {"plan": plan.name}
        if percent >= 1:
            return _("%(percent)s%% of customers on %(plan)s have it.") % {"percent": percent, "plan": plan.name}
        return _("Made to go with %(plan)s.") % {"plan": plan.name}


def suggested_addons(plan: Plan) -> list[Plan]:
    """At most three add-ons to offer with ``plan`` (``addon_suggestions``)."""
    return [s.addon for s in addon_suggestions(plan)]


def addon_suggestions(plan: Plan) -> list[AddonSuggestion]:
    """At most three add-ons to offer with ``plan``, each with its source: the owner's choice
    (``CheckoutSuggestion``), else those most customers on that plan have (then, while the
    history is shorter than three, the oldest compatible add-ons). The most held add-ons are
    counted over the plan's subscriptions at most once a minute per process. A bundle's own parts
    are never offered with it."""
    compatible = _compatible(plan).exclude(pk__in=plan.versions.filter(bundle_parts__isnull=False)
                                           .values("bundle_parts__component"))
    chosen = [AddonSuggestion(s.addon, "owner_choice") for s in CheckoutSuggestion.objects.filter(
        plan=plan, addon__in=compatible).select_related("addon").order_by("position", "pk")]
    if chosen:
        return chosen[:MAX_SUGGESTIONS]
    kept = _popular.get(plan.pk)
    if kept is None or wall_time.monotonic() - kept[0] > POPULAR_SECONDS:
        kept = (wall_time.monotonic(), *_most_held(plan, compatible))
        _popular[plan.pk] = kept
    by_id = {p.pk: p for p in compatible.filter(pk__in=[i for i, _n in kept[1]])}
    return [AddonSuggestion(by_id[i], "popular" if n else "available", n, kept[2]) for i, n in kept[1] if i in by_id]


def _most_held(plan: Plan, compatible) -> tuple[list[tuple[int, int]], int]:
    """The most held compatible add-ons (id, subscriptions holding it) and the plan's live
    subscriptions, in one query; the oldest add-ons fill the rest (held by none)."""
    live = (Subscription.objects.filter(plan=plan, status__in=list(LIVE)).order_by()
            .values("plan_id").annotate(c=Count("pk")).values("c")[:1])
    counted = list(SubscriptionItem.objects
                   .filter(subscription__plan=plan, subscription__status__in=list(LIVE),
                           plan_version__plan__in=compatible)
                   .values("plan_version__plan").annotate(n=Count("subscription", distinct=True), live=Subquery(live))
                   .order_by("-n", "plan_version__plan")[:MAX_SUGGESTIONS])
    held = [(row["plan_version__plan"], row["n"]) for row in counted]
    if len(held) < MAX_SUGGESTIONS:  # too little history (a new shop): the oldest add-ons fill the rest
        ids = [i for i, _n in held]
        held += [(i, 0) for i in compatible.exclude(pk__in=ids).order_by("pk")
                 .values_list("pk", flat=True)[:MAX_SUGGESTIONS - len(held)]]
    return held, (counted[0]["live"] or 0) if counted else 0


def chosen_addons(plan: Plan, codes: list[str]) -> list[Plan]:
    """The add-ons ``codes`` for ``plan`` (each active, same currency and interval; at most three)."""
    codes = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if len(codes) > MAX_ADDONS:
        raise CheckoutError(_("Choose at most %(count)s add-ons.") % {"count": MAX_ADDONS}, "addons")
    found = {p.code: p for p in catalog_queries.active_addons(codes, plan.currency, plan.interval, plan.interval_count)}
    for code in codes:
        if code not in found:
            raise CheckoutError(_("The add-on %(code)s cannot be bought with this plan.") % {"code": code}, "addons")
    return [found[c] for c in codes]


@dataclass
class PricingEntry:
    """One product's column on the pricing page: its monthly plan and/or its yearly one."""

    monthly: Plan | None = None
    yearly: Plan | None = None
    others: list[Plan] = field(default_factory=list)


def pricing_entries() -> list[PricingEntry]:
    """The public plans, a monthly plan paired with its yearly one: the annual plan the owner's
    annual offer names (upgrades), else the product's yearly plan in the same currency, else a
    yearly plan whose code starts with the monthly one's and a dash (pro, pro-annual)."""
    plans = list(Plan.objects.filter(public=True, active=True, kind=Plan.Kind.BASE).select_related("product")
                 .order_by("pk"))
    offers = dict(AnnualOffer.objects.filter(monthly_plan__in=plans).values_list("monthly_plan_id", "annual_plan_id"))
    yearly = {p.pk: p for p in plans if p.interval == "year" and p.interval_count == 1}
    entries: list[PricingEntry] = []
    paired: set[int] = set()
    for plan in plans:
        if plan.interval == "month" and plan.interval_count == 1:
            partner = yearly.get(offers.get(plan.pk, -1))
            if partner is None:  # the same product's yearly plan, else one named after it (pro → pro-annual)
                candidates = [y for y in yearly.values() if y.currency == plan.currency and y.pk not in paired]
                partner = next((y for y in candidates if y.product_id == plan.product_id), None) or next(
                    (y for y in candidates if y.code.startswith(f"{plan.code}-")), None)
            if partner is not None:
                paired.add(partner.pk)
            entries.append(PricingEntry(monthly=plan, yearly=partner))
    for plan in plans:
        if plan.pk in paired or (plan.interval == "month" and plan.interval_count == 1):
            continue
        if plan.pk in yearly:
            entries.append(PricingEntry(yearly=plan))
        else:
            entries.append(PricingEntry(others=[plan]))
    return entries


# --- return URLs and sessions ---------------------------------------------------------------

def check_return_url(url: str, name: str) -> str:
    """An absolute http(s) URL without credentials (https only in live mode), or ""."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    secure_only = settings.ASSINA_MODE == "live"
    schemes = ("https",) if secure_only else ("http", "https")
    if (len(url) > 2000 or parts.scheme not in schemes or not parts.hostname or parts.username or parts.password
            or any(ch in url for ch in "\r\n\t \\")):
        raise CheckoutError(_("%(name)s must be an absolute %(schemes)s URL without credentials")
                            % {"name": name, "schemes": " or ".join(schemes)}, name)
    return url


def create_session(*, plan_code: str, success_url: str = "", cancel_url: str = "", customer_email: str = "",
                   promotion_code: str = "", addons: list[str] | None = None) -> CheckoutSession:
    """A checkout session for the API (any active plan; the page then shows it at ``url``)."""
    plan = sellable_plan(plan_code, public_only=False)
    success_url = check_return_url(success_url, "success_url")
    cancel_url = check_return_url(cancel_url, "cancel_url")
    customer_email = (customer_email or "").strip()
    if customer_email:
        _check_email(customer_email)
    addon_plans = chosen_addons(plan, addons or [])
    at = clock_now()
    if promotion_code:
        check_promotion_code(promotion_code.strip(), plan, at)
    with transaction.atomic():
        session = CheckoutSession.objects.create(
            key=new_key(), plan=plan, origin=CheckoutSession.Origin.API, success_url=success_url, cancel_url=cancel_url,
            customer_email=customer_email, promotion_code=(promotion_code or "").strip(),
            addons=[a.code for a in addon_plans], created_at=at, expires_at=at + SESSION_AGE)
        record("checkout_session.created", session, at, {"plan": plan.code})
    return session


def session_for_token(key: str, plan: Plan, at: datetime | None = None, *, address: str | None = None) -> CheckoutSession:
    """The session of a /checkout/<plan>/ form (its token's key), made by its first POST (a
    token is new on its first POST, so the session is inserted without looking for it first;
    a second POST of the same form finds it taken). ``address``: this POST is counted against
    the address's limit (``throttle``) in the same transaction; ``Throttled`` past it, and
    then nothing is made."""
    at = at or clock_now()
    return _page_session(key, plan, at, address, None) or _read_session(key)


def open_page_session(key: str, plan: Plan, form: CheckoutForm, at: datetime, *,
                      address: str) -> tuple[CheckoutSession, Checked | None]:
    """``session_for_token`` for a POST that buys: every field is checked first and, when they
    all pass, the session is made already taken by this request for completing it (no claim
    afterwards: ``complete(..., checked=)``), with the checked fields; else it is made open,
    with None (``complete`` then shows the refusal). A session an earlier POST of this form
    made comes back as it is, with None."""
    try:
        checked = check_form(plan, form, at)
    except CheckoutError:
        checked = None
    made = _page_session(key, plan, at, address, timezone.now() if checked else None)
    if made is None:
        return _read_session(key), None
    return made, checked


def _page_session(key: str, plan: Plan, at: datetime, address: str | None,
                  claimed_at: datetime | None) -> CheckoutSession | None:
    """Count the POST and insert the form's session (taken at ``claimed_at``, when given), in one
    transaction; None when an earlier POST of the form made it."""
    status = CheckoutSession.Status.PROCESSING if claimed_at else CheckoutSession.Status.OPEN
    with transaction.atomic():
        if address is not None:
            _count_post(address)
        try:
            with transaction.atomic():  # a savepoint: a second POST's count stays counted
                return insert_one(CheckoutSession(key=key, plan=plan, origin=CheckoutSession.Origin.PAGE, status=status,
                                                  claimed_at=claimed_at, created_at=at, expires_at=at + SESSION_AGE))
        except IntegrityError:  # made by an earlier POST of this form (a double click, a retry)
            return None


def _read_session(key: str) -> CheckoutSession:
    return CheckoutSession.objects.select_related("plan").get(key=key)


def get_session(key: str) -> CheckoutSession | None:
    return CheckoutSession.objects.select_related("plan").filter(key=key).first() if key.startswith(KEY_PREFIX) else None


def expired(session: CheckoutSession, at: datetime | None = None) -> bool:
    return session.status != CheckoutSession.Status.COMPLETE and (at or clock_now()) >= session.expires_at


# --- the form's checks ----------------------------------------------------------------------

@dataclass
class CheckoutForm:
    email: str = ""
    name: str = ""
    tax_id: str = ""
    promotion_code: str = ""
    addons: list[str] = field(default_factory=list)
    shipping: dict = field(default_factory=dict)
    card_number: str = ""
    exp_month: str = ""
    exp_year: str = ""
    setup_intent: str = ""
    locale: str = "en"


@dataclass
class Checked:
    email: str
    name: str
    tax_id: str
    promotion_code: str
    addons: list[Plan]
    shipping: dict
    locale: str


SHIPPING_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")
SHIPPING_REQUIRED = ("line1", "city", "postal_code", "country")


def _check_email(email: str) -> None:
    try:
        validate_email(email)
    except ValidationError:
        raise CheckoutError(_("Enter a valid e-mail address."), "email") from None


def check_promotion_code(code: str, plan: Plan, at: datetime) -> None:
    """Refuse a promotion code that would not apply now: the catalog's own check, read-only
    (``catalog.services.check_promotion_code``, the same reasons as its redemption)."""
    try:
        found = check_code(code, plan.code, at)
    except DomainError as refused:
        raise CheckoutError(_("The promotion code cannot be used: %(reason)s") % {"reason": localized_message(refused)},
                            "promotion_code") from None
    if found is None:
        raise CheckoutError(_("The promotion code %(code)s does not exist.") % {"code": code}, "promotion_code")


def _check_shipping(typed: dict) -> dict:
    """The address as ``core.shipping.normalize_address`` writes it (the portal's own rules: a
    CEP of 8 digits written 01310-100, a state in Brazil and the US), with an ISO country."""
    typed = {k: str(typed.get(k, "")) for k in SHIPPING_FIELDS}
    if any(not typed[k].strip() for k in SHIPPING_REQUIRED):
        raise CheckoutError(_("Enter the shipping address: street, city, postal code and country."), "shipping")
    try:
        address = normalize_address(typed)
        check_country(address["country"])
    except InvalidAddress as refused:
        raise CheckoutError(_("Check the shipping address: %(reason)s.") % {"reason": localized_message(refused)},
                            "shipping") from None
    except DomainError:
        raise CheckoutError(_("Enter the country as its two-letter code, e.g. BR."), "shipping") from None
    return address


def check_form(plan: Plan, form: CheckoutForm, at: datetime) -> Checked:
    """Every field checked, nothing written; a ``CheckoutError`` names the first bad one."""
    email = form.email.strip()[:254]
    _check_email(email)
    name = " ".join(form.name.split())[:200]
    if not name:
        raise CheckoutError(_("Enter your name."), "name")
    tax_id = ""
    if plan.currency == "BRL":
        found = brazilian_tax_id(form.tax_id)
        if found is None:
            raise CheckoutError(_("Enter a valid CPF or CNPJ (its check digits do not match)."), "tax_id")
        tax_id = formatted(*found)
    else:
        tax_id = " ".join(form.tax_id.split())[:64]
    shipping = _check_shipping(form.shipping) if plan.ships_goods else {}
    addons = chosen_addons(plan, form.addons)
    code = form.promotion_code.strip()[:64]
    if code:
        check_promotion_code(code, plan, at)
    return Checked(email=email, name=name, tax_id=tax_id, promotion_code=code, addons=addons, shipping=shipping,
                   locale="pt-BR" if form.locale.lower() in ("pt-br", "pt") else "en")


def throttle(address: str) -> None:
    """Count one POST of the checkout form from ``address``; ``Throttled`` past the limit."""
    with transaction.atomic():
        _count_post(address)


def _count_post(address: str) -> None:
    at = timezone.now()  # the wall clock, as the portal's sign-in limit: a test clock never lifts it
    if not queries.count_request(f"ip:{address}"[:120], at, at - THROTTLE_WINDOW, PER_ADDRESS):
        raise Throttled()


# --- completing, exactly once ---------------------------------------------------------------

def _claim(key: str) -> tuple[int | None, str] | None:
    """The session's customer id and gateway account once this request holds it, else None."""
    wall = timezone.now()
    return queries.claim_session(key, wall, wall - CLAIM_TIMEOUT)


def _release(key: str) -> None:
    CheckoutSession.objects.filter(key=key, status=CheckoutSession.Status.PROCESSING).update(
        status=CheckoutSession.Status.OPEN, claimed_at=None)


def complete(key: str, form: CheckoutForm, *, session: CheckoutSession | None = None,
             at: datetime | None = None, checked: Checked | None = None,
             offered: Offered | None = None) -> CheckoutSession:
    """Complete the session ``key`` with the visitor's form: the finished session (a
    ``CheckoutError`` when a field is refused, and then nothing was made). ``session``: the
    session as the caller has just read or made it, and ``at`` the clock's time then;
    ``checked``: the form's fields as ``open_page_session`` checked them when it made the
    session taken by this request; ``offered``: the suggestions the page showed (recorded
    for the new customer with those taken, ``checkout_events``)."""
    deadline = wall_time.monotonic() + WAIT_SECONDS
    claimed = (None, "") if checked is not None else None
    while claimed is None:
        if session is None:
            session = _read_session(key)
            at = None
        if session.status == CheckoutSession.Status.COMPLETE:
            return session
        at = at or clock_now()
        if expired(session, at):
            raise CheckoutError(_("This checkout has expired. Please start again."), "session")
        checked = check_form(session.plan, form, at)
        claimed = _claim(key)
        if claimed is not None:
            break
        session = None
        while wall_time.monotonic() < deadline:  # another request is completing it: wait for its result
            wall_time.sleep(0.05)
            status = CheckoutSession.objects.filter(key=key).values_list("status", flat=True).first()
            if status != CheckoutSession.Status.PROCESSING:
                break
        else:
            raise CheckoutError(_("Your order is still being processed. Please wait a moment and reload this page."),
                                "session")
    try:
        # What an earlier claim may have left (a customer made, an account opened at the gateway)
        # comes with this request's claim; the rest of the row is as read.
        session.customer_id, session.gateway_customer = claimed
        session.status = CheckoutSession.Status.PROCESSING
        return _fulfil(session, checked, form, at, offered)
    except BaseException:
        _release(key)
        raise


class _NotNew(Exception):
    """The new customer was refused (its e-mail taken, or the card): the cause says why."""


def _fulfil(session: CheckoutSession, checked: Checked, form: CheckoutForm, at: datetime,
            offered: Offered | None = None) -> CheckoutSession:
    """The customer with the card, the subscription with its first invoice and payment attempt,
    the suggestions shown and taken, and the session completed: one transaction; then the first
    charge."""
    customer = session.customer
    # The customer's other events, worked out before the write transaction: one INSERT in it.
    events = checkout_events.suggestion_rows(offered, {a.code for a in checked.addons})
    if customer is None and checked.shipping:  # as customers.services.set_shipping_address records it
        events.append(("customer.shipping_address_updated", {"country": checked.shipping["country"], "first": True}, None))
    # The card is checked for a known address too: both answers cost the same, and asking
    # whether an address is a customer's costs a card that the gateway accepts.
    attached = _card(session, form, at) if customer is None else None  # the gateway says no before anything is written
    set_up_on = session.gateway_customer if form.setup_intent.strip() else ""  # the account _card checked the setup on
    # Only a checkout taken over after a crash may find its subscription made already.
    sub = (Subscription.objects.filter(customer=customer, metadata__checkout_session=session.key).first()
           if customer is not None else None)
    charges: list = []
    opening = None
    if sub is None:  # read before the write transaction: the plan's versions, the clock
        try:
            opening = prepare_opening(plan_code=session.plan.code, plan=session.plan,
                                      addons=[(a, 1) for a in checked.addons])
        except DomainError as refused:  # the plan or an add-on was withdrawn meanwhile
            raise CheckoutError(localized_message(refused), "session") from None
    try:
        with transaction.atomic():
            if customer is None:
                try:
                    customer = _new_customer(session, checked, attached, at, set_up_on)
                except (IntegrityError, DomainError) as refused:
                    raise _NotNew() from refused
            if sub is None:
                try:
                    sub, charges = write_opening(customer, opening, coupon_code=checked.promotion_code or None,
                                                 metadata={"checkout_session": session.key})
                except DomainError as refused:  # e.g. the code's last redemption went to someone else meanwhile
                    raise CheckoutError(localized_message(refused), "promotion_code") from None
            _finish(session, CheckoutSession.Outcome.SUBSCRIBED, at, customer=customer, subscription=sub,
                    checked=checked, events=events)
    except _NotNew as not_new:  # nothing was written
        if queries_customers.email_taken(checked.email):  # a customer's, or taken meanwhile
            return _existing_customer(session, checked, at)
        raise not_new.__cause__ from None
    collect(charges, sub.started_at)
    return session


def _new_customer(session: CheckoutSession, checked: Checked, attached, at: datetime, set_up_on: str = "") -> Customer:
    """The buyer as a customer with the card (in the caller's transaction); a known address is
    refused by ``check_new_customer``. ``set_up_on``: the gateway account the card setup was
    confirmed for (the session's), which becomes the customer's account there, so a purchase
    opens one account at the gateway."""
    new = check_new_customer(email=checked.email, name=checked.name, locale=checked.locale,
                             currency=session.plan.currency, tax_id=checked.tax_id,
                             country=checked.shipping.get("country", ""), metadata={"checkout_session": session.key})
    customer = insert_customer(new, at)
    if set_up_on and attached.customer_ref in ("", set_up_on):
        # Stripe attaches the confirmed card to the setup's account; a gateway that leaves it
        # unattached (localstripe) has it attached there by attach_card_token below.
        adopt_remote_customer(customer, set_up_on)
    if checked.shipping:
        Customer.objects.filter(pk=customer.pk).update(shipping_address=checked.shipping)
    attach_card_token(customer, attached, at)
    return customer


def _reference(session: CheckoutSession) -> str:
    return f"checkout_{session.key}"


def start_card_setup(key: str, form: CheckoutForm):
    """With a gateway whose own fields take the card (Stripe): check the form, open the buyer's
    account at the gateway (once per session) and start a card setup there, which the browser
    confirms; ``complete`` then keeps the card after asking the gateway. Nothing local is made."""
    session = _read_session(key)
    at = clock_now()
    if session.status == CheckoutSession.Status.COMPLETE or expired(session, at):
        raise CheckoutError(_("This checkout has expired. Please start again."), "session")
    checked = check_form(session.plan, form, at)
    gateway = get_gateway()
    if not getattr(gateway, "collects_in_browser", False):
        raise CheckoutError(_("Enter your card."), "card")
    try:
        if not session.gateway_customer:
            remote = gateway.create_customer(email=checked.email, name=checked.name, reference=_reference(session))
            CheckoutSession.objects.filter(pk=session.pk, gateway_customer="").update(gateway_customer=remote)
            session.refresh_from_db(fields=["gateway_customer"])
        return gateway.start_card_setup(session.gateway_customer, _reference(session))
    except DomainError as refused:
        raise CheckoutError(localized_message(refused), "card") from None


def _card(session: CheckoutSession, form: CheckoutForm, at: datetime):
    if form.setup_intent.strip():
        gateway = get_gateway()
        if not getattr(gateway, "collects_in_browser", False) or not session.gateway_customer:
            raise CheckoutError(_("Enter your card."), "card")
        try:
            return gateway.finish_card_setup(form.setup_intent.strip(), session.gateway_customer, _reference(session))
        except DomainError as refused:
            raise CheckoutError(localized_message(refused), "card") from None
    number = "".join(ch for ch in form.card_number if ch.isdigit())
    if not number:
        raise CheckoutError(_("Enter your card."), "card")
    try:
        month, year = int(form.exp_month), int(form.exp_year)
    except ValueError:
        raise CheckoutError(_("Enter the card's expiry month and year."), "card") from None
    if not 1 <= month <= 12:
        raise CheckoutError(_("Enter the card's expiry month and year."), "card")
    try:
        return check_card(number, at, exp_month=month, exp_year=year)
    except DomainError as refused:
        raise CheckoutError(localized_message(refused), "card") from None


def _existing_customer(session: CheckoutSession, checked: Checked, at: datetime) -> CheckoutSession:
    """Nothing made, nothing charged; the address gets a sign-in link to its own portal."""
    try:
        portal.request_link(checked.email, f"checkout:{session.key}")
    except portal.Throttled:
        pass  # links were mailed to this address a few times within the hour already
    return _finish(session, CheckoutSession.Outcome.EXISTING_CUSTOMER, at, checked=checked)


def _finish(session: CheckoutSession, outcome: str, at: datetime, *, checked: Checked, customer=None,
            subscription=None, events: list[checkout_events.Row] = ()) -> CheckoutSession:
    with transaction.atomic(savepoint=False):  # in the caller's transaction when it has one
        session.status = CheckoutSession.Status.COMPLETE
        session.outcome = outcome
        session.customer = customer
        session.subscription = subscription
        session.customer_email = checked.email
        session.locale = checked.locale
        session.completed_at = at
        update_many([session], ["status", "outcome", "customer_id", "subscription_id", "customer_email", "locale",
                                "completed_at"])
        completed = record("checkout_session.completed", session, at,
                           {"outcome": outcome, "plan": session.plan.code,
                            "subscription": subscription.pk if subscription else None},
                           customer_id=customer.pk if customer else None)
        if customer is not None:
            checkout_events.write(list(events), customer.pk, subscription.pk if subscription else None, at, completed.pk)
    return session


def success_redirect(session: CheckoutSession) -> str:
    """Where the visitor goes after a completed checkout: the session's success URL (with
    ``{CHECKOUT_SESSION_ID}`` replaced, as Stripe does) or Assina's own thank-you page."""
    if session.success_url:
        return session.success_url.replace("{CHECKOUT_SESSION_ID}", session.key)
    return f"/checkout/s/{session.key}/"


def session_summary(session: CheckoutSession) -> dict:
    """A session as the CLI prints it (the API's shape, ``selling.api``, without its schema)."""
    return {"id": session.key, "url": f"{settings.ASSINA_BASE_URL}/checkout/s/{session.key}/", "plan": session.plan.code,
            "status": "expired" if expired(session) else session.status, "outcome": session.outcome,
            "customer": f"cus_{session.customer_id}" if session.customer_id else None,
            "subscription": f"sub_{session.subscription_id}" if session.subscription_id else None,
            "expires_at": session.expires_at.isoformat()}


def set_public(plan_code: str, public: bool) -> dict:
    """Put a base plan on the pricing page or take it off (as the plan's admin page does)."""
    plan = Plan.objects.filter(code=plan_code).first()
    if plan is None or plan.kind != Plan.Kind.BASE:
        raise CheckoutError(_("unknown plan %(code)s (an add-on is not sold alone)") % {"code": repr(plan_code)}, "plan")
    if plan.public != public:
        with transaction.atomic():
            Plan.objects.filter(pk=plan.pk).update(public=public)
            plan.public = public
            record("plan.updated", plan, clock_now(), {"public": public})
    return {"plan": plan.code, "public": plan.public, "active": plan.active}
