"""Use cases of price migrations (docs/repricing.md): create one (pick its subscriptions and
send the notices), a customer's choice, and the due work (reminder, arming the choice, reading
the outcome after the renewal).

Billing stays in the subscriptions app: a member's choice becomes that app's scheduled change
at its current period's end (``change_subscription(at_period_end=True)`` for the cheaper plan,
``schedule_version_change`` for the new price of the same plan or the annual plan's kept price)
and the loyalty discount a coupon put on with ``discounts.apply_discount``, from that same
renewal. This happens once the member's current period is the one that ends at its first
renewal on or after the effective date ("arming"); a choice made after that re-arms at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _, ngettext

from assina.catalog.models import Coupon, Plan, PlanVersion
from assina.catalog.services import CatalogError, change_plan_price, create_coupon
from assina.core.errors import DomainError
from assina.core.money import parse_amount
from assina.core.periods import Interval, boundary, period_starting_at
from assina.core.pricing import price_amount
from assina.core.states import LIVE, SubscriptionStatus
from assina.customers.models import Customer
from assina.db import insert_rows, reserve_ids
from assina.events.services import record
from assina.notifications import links
from assina.notifications.context import interval_word, local_date, money
from assina.notifications.models import Segment
from assina.notifications.outbox import Draft, queue
from assina.notifications.rendering import TemplateCache, message_locale
from assina.notifications.segments import SegmentError, customers_of
from assina.subscriptions.changes import PRICE_MIGRATION, change_subscription, schedule_version_change
from assina.subscriptions.discounts import apply_discount, remove_discount
from assina.subscriptions.models import Subscription, SubscriptionItem
from assina.subscriptions.services import SubscriptionError
from assina.subscriptions.terms import current_mrr
from assina.time import now as clock_now

from .models import Choice, PriceMigration, PriceMigrationMember as Member

NOTICE_DAYS = 30  # the effective date is at least this far after the notice
REMIND_BEFORE = timedelta(days=7)
MAX_LOYALTY_PERIODS = 24
CHUNK = 5000


class MigrationError(DomainError):
    """A migration that cannot be created, or a choice that cannot be made; nothing changed."""


# ---------------------------------------------------------------------------------------------
# Creating a migration


@dataclass(frozen=True)
class Spec:
    """What the owner asks for, checked (``check_spec``)."""

    plan: Plan
    new_amount: int | None
    effective_at: datetime
    audience: str
    segment: Segment | None
    subscribed_before: datetime | None
    loyalty_percent: Decimal | None
    loyalty_periods: int | None
    switch_plan: Plan | None
    annual_plan: Plan | None
    default_choice: str


def _plan(code: str, what: str) -> Plan:
    plan = Plan.objects.filter(code=str(code or "").strip()).first()
    if plan is None:
        raise MigrationError(_("unknown plan %(code)s") % {"code": repr(code)})
    if plan.kind != Plan.Kind.BASE or not plan.active:
        raise MigrationError(_("%(what)s %(code)s is not an active base plan") % {"what": what, "code": repr(code)})
    return plan


def new_price(plan_code: str, amount: str) -> int:
    """The new price typed in decimals in the plan's currency ("59.90"), in minor units, as
    ``assina plan price`` reads it. Raises ``MigrationError`` for an unknown plan and
    ``InvalidAmount`` for a bad amount (both translated)."""
    return parse_amount(amount, _plan(plan_code, _("plan")).currency)


def check_spec(*, plan_code: str, effective_at: datetime, new_amount: int | None = None, audience: str = "all",
               segment: str | int | None = None, subscribed_before: datetime | None = None,
               loyalty_percent=None, loyalty_periods: int | None = None, switch_plan_code: str | None = None,
               allow_annual: bool = False, annual_plan_code: str | None = None, default_choice: str = "accept",
               at: datetime | None = None) -> Spec:
    """Every check of ``create_migration``'s input, before anything is written."""
    at = at or clock_now()
    plan = _plan(plan_code, _("plan"))
    if new_amount is not None and (not isinstance(new_amount, int) or isinstance(new_amount, bool)):
        raise MigrationError(_("the new price must be a positive whole number of minor units (cents)"))
    if new_amount is not None and new_amount <= 0:
        raise MigrationError(_("the new price must be more than zero"))
    if not isinstance(effective_at, datetime) or effective_at.tzinfo is None:
        raise MigrationError(_("the effective date must be a date and time with its time zone"))
    earliest = at + timedelta(days=NOTICE_DAYS)
    if effective_at < earliest:
        raise MigrationError(_("the effective date must be at least %(days)s days after the notice: %(date)s or later")
                             % {"days": NOTICE_DAYS, "date": local_date(earliest, translation.get_language() or "en",
                                                                        settings.TIME_ZONE)})
    if effective_at > at + timedelta(days=366):
        raise MigrationError(_("the effective date must be within a year"))
    if audience not in PriceMigration.Audience.values:
        raise MigrationError(_("who is in the migration: one of %(values)s") % {"values": ", ".join(PriceMigration.Audience.values)})
    found_segment = None
    if audience == PriceMigration.Audience.SEGMENT:
        if segment in (None, ""):
            raise MigrationError(_("name the saved segment (its id or name)"))
        found_segment = (Segment.objects.filter(pk=int(segment)).first() if str(segment).isdigit()
                         else Segment.objects.filter(name=str(segment)).first())
        if found_segment is None:
            raise MigrationError(_("unknown segment %(segment)s") % {"segment": repr(segment)})
    elif segment not in (None, ""):
        raise MigrationError(_("a segment is given only when the migration is for a segment"))
    if audience == PriceMigration.Audience.BEFORE:
        if not isinstance(subscribed_before, datetime) or subscribed_before.tzinfo is None:
            raise MigrationError(_("give the date: those who subscribed before it are in the migration"))
        if subscribed_before > at:
            raise MigrationError(_("the subscription date must not be in the future"))
    elif subscribed_before is not None:
        raise MigrationError(_("a subscription date is given only when the migration is for those who subscribed before it"))
    percent = None
    if loyalty_percent not in (None, "") or loyalty_periods is not None:
        try:
            percent = Decimal(str(loyalty_percent).strip())
        except InvalidOperation:
            raise MigrationError(_("the loyalty discount is a percentage, like 10")) from None
        if not percent.is_finite() or not 0 < percent < 100 or percent != percent.quantize(Decimal("0.01")):
            raise MigrationError(_("the loyalty discount must be more than 0 and less than 100 percent (two decimals at most)"))
        if not isinstance(loyalty_periods, int) or isinstance(loyalty_periods, bool) or not 1 <= loyalty_periods <= MAX_LOYALTY_PERIODS:
            raise MigrationError(_("the loyalty discount lasts from 1 to %(max)s periods") % {"max": MAX_LOYALTY_PERIODS})
    switch = None
    if switch_plan_code:
        switch = _plan(switch_plan_code, _("cheaper plan"))
        if switch.pk == plan.pk or switch.currency != plan.currency or \
                (switch.interval, switch.interval_count) != (plan.interval, plan.interval_count):
            raise MigrationError(_("the cheaper plan must be another plan in the same currency and billing interval"))
        new_price = new_amount if new_amount is not None else price_amount(plan.current_version().price_spec(), 1)
        if price_amount(switch.current_version().price_spec(), 1) >= new_price:
            raise MigrationError(_("plan %(code)s is not cheaper than the new price") % {"code": repr(switch.code)})
    annual = None
    if allow_annual or annual_plan_code:
        if annual_plan_code:
            annual = _plan(annual_plan_code, _("annual plan"))
        else:
            from assina.upgrades.models import AnnualOffer

            offer = AnnualOffer.objects.select_related("annual_plan").filter(monthly_plan=plan, active=True).first()
            if offer is None:
                raise MigrationError(_("plan %(code)s has no annual billing offer; name the annual plan") % {"code": repr(plan.code)})
            annual = offer.annual_plan
        if annual.interval != Interval.YEAR.value or annual.interval_count != 1 or annual.currency != plan.currency \
                or plan.interval == Interval.YEAR.value:
            raise MigrationError(_("the annual plan must bill yearly in the plan's currency, and the plan must not be annual itself"))
    if default_choice not in (Choice.ACCEPT.value, Choice.SWITCH.value):
        raise MigrationError(_("the default when a customer does not answer is accept or switch"))
    if default_choice == Choice.SWITCH.value and switch is None:
        raise MigrationError(_("the default is the cheaper plan, but no cheaper plan is offered"))
    return Spec(plan=plan, new_amount=new_amount, effective_at=effective_at, audience=audience, segment=found_segment,
                subscribed_before=subscribed_before, loyalty_percent=percent, loyalty_periods=loyalty_periods if percent else None,
                switch_plan=switch, annual_plan=annual, default_choice=default_choice)


def candidates(spec: Spec, new_version_id: int | None, at: datetime):
    """The base items of the subscriptions the migration takes: live, not set to cancel, on the
    plan at another price than the new one, in the audience, and in no other open migration."""
    items = SubscriptionItem.objects.filter(
        plan_version__plan=spec.plan, subscription__status__in=list(LIVE), subscription__cancel_at_period_end=False,
        subscription__catch_up_held_at__isnull=True)
    if new_version_id is not None:
        items = items.exclude(plan_version_id=new_version_id)
    if spec.audience == PriceMigration.Audience.SEGMENT:
        try:
            items = items.filter(subscription__customer_id__in=customers_of(spec.segment, at).values("pk"))
        except SegmentError as refused:
            raise MigrationError(str(refused)) from None
    elif spec.audience == PriceMigration.Audience.BEFORE:
        items = items.filter(subscription__created_at__lt=spec.subscribed_before)
    busy = Member.objects.filter(landed_at__isnull=True).values("subscription_id")
    return items.exclude(subscription_id__in=busy)


def _target(anchor: datetime, interval: str, count: int, period_start: datetime, period_end: datetime,
            effective_at: datetime) -> tuple[datetime, datetime]:
    """(first renewal on or after ``effective_at``, the boundary before it): the current period's
    end when it is late enough, else the boundaries after it, counted from its index."""
    if period_end >= effective_at:
        return period_end, period_start
    tz = settings.TIME_ZONE
    n, _period = period_starting_at(anchor, interval, count, period_end, tz)
    before, target = period_start, period_end
    while target < effective_at:
        n += 1
        before, target = target, boundary(anchor, interval, count, n, tz)
    return target, before


MEMBER_FIELDS = ("id", "migration_id", "subscription_id", "customer_id", "old_version_id", "quantity", "currency",
                 "mrr_before", "target_at", "remind_at", "arm_at", "choice", "reminded_at", "armed_choice",
                 "loyalty_applied", "note", "outcome", "next_action_at")


def create_migration(**asked) -> PriceMigration:
    """Create the migration, its members and their notices (one transaction). ``asked``: the
    arguments of ``check_spec``. Raises ``MigrationError`` (translated) with nothing written."""
    at = clock_now()
    spec = check_spec(at=at, **asked)
    with transaction.atomic():
        if spec.new_amount is not None:
            try:
                new_version = change_plan_price(spec.plan.code, amount=spec.new_amount, at=at)
            except CatalogError as refused:
                raise MigrationError(str(refused)) from None
        else:
            new_version = spec.plan.current_version()
        rows = list(candidates(spec, new_version.pk, at).values_list(
            "subscription_id", "subscription__customer_id", "plan_version_id", "quantity", "subscription__currency",
            "subscription__billing_anchor", "subscription__interval", "subscription__interval_count",
            "subscription__current_period_start", "subscription__current_period_end", "subscription__status",
            "subscription__coupon_id", "subscription__discount_applies_from", "subscription__discount_applies_until",
            "subscription__customer__email", "subscription__customer__name", "subscription__customer__locale",
            "subscription__customer__time_zone").order_by("subscription_id"))
        if not rows:
            raise MigrationError(_("no subscription matches: nobody on plan %(code)s at another price than the new one "
                                   "(in the audience, not cancelling, not in another migration)") % {"code": repr(spec.plan.code)})
        if price_amount(new_version.price_spec(), 1) <= min(price_amount(v.price_spec(), 1) for v in
                                                             PlanVersion.objects.filter(pk__in={r[2] for r in rows})):
            raise MigrationError(_("the new price is not higher than a subscriber's current price: a price "
                                   "migration is for increases (a decrease needs no choice)"))
        coupon = _loyalty_coupon(spec, at) if spec.loyalty_percent else ""
        migration = PriceMigration.objects.create(
            plan=spec.plan, new_version=new_version, audience=spec.audience, segment=spec.segment,
            subscribed_before=spec.subscribed_before, effective_at=spec.effective_at, loyalty_percent=spec.loyalty_percent,
            loyalty_periods=spec.loyalty_periods, loyalty_coupon=coupon, switch_plan=spec.switch_plan,
            annual_plan=spec.annual_plan, annual_version=spec.annual_plan.current_version() if spec.annual_plan else None,
            default_choice=spec.default_choice, created_at=at, notified_at=at, members_count=len(rows))
        mrr = _mrr_now(rows, at)
        ids = reserve_ids(Member, len(rows))
        members = []
        targets: dict[tuple, tuple[datetime, datetime]] = {}  # subscriptions that share their periods share this
        notices = []
        for pk, (sub_id, customer_id, version_id, quantity, currency, anchor, interval, count, period_start, period_end,
                 _status, _coupon, _from, _until, email, name, locale, tz) in zip(ids, rows):
            periods = (anchor, interval, count, period_start, period_end)
            if periods not in targets:
                targets[periods] = _target(*periods, spec.effective_at)
            target, before = targets[periods]
            remind = target - REMIND_BEFORE
            arm = max(before, at)
            remind = remind if remind > at else None
            members.append((pk, migration.pk, sub_id, customer_id, version_id, quantity, currency, mrr.get(sub_id, 0), target,
                            remind, arm, "", None, "", False, "", "", min(t for t in (remind, arm) if t is not None)))
            notices.append((pk, customer_id, currency, quantity, version_id, target, email, name, locale, tz))
        insert_rows(Member, MEMBER_FIELDS, members)
        notices = send_notices(migration, notices, at)
        record("price_migration.created", migration, at, {
            "migration": f"pm_{migration.pk}", "plan": spec.plan.code, "new_version": new_version.version,
            "effective_at": spec.effective_at.isoformat(), "subscriptions": len(members), "notices": notices,
            "offers": migration.offers(), "default": spec.default_choice})
    return migration


def _loyalty_coupon(spec: Spec, at: datetime) -> str:
    """One coupon per loyalty offer (its code names its terms), restricted to the plan."""
    percent = format(spec.loyalty_percent.normalize(), "f")
    code = f"loyalty-{spec.plan.code}-{percent.replace('.', '-')}pct-{spec.loyalty_periods}p"[:64]
    if not Coupon.objects.filter(code=code).exists():
        create_coupon(code=code, duration="repeating", duration_periods=spec.loyalty_periods, percent_off=spec.loyalty_percent,
                      plans=[spec.plan.code], at=at, name=f"{percent}% loyalty discount, {spec.loyalty_periods} periods ({spec.plan.code})")
    return code


def _mrr_now(rows: list[tuple], at: datetime) -> dict[int, int]:
    """Each candidate's MRR now (``terms.current_mrr``, the dashboard's rule) from the fields the
    candidates' query already read (no model instances)."""
    result = {}
    for offset in range(0, len(rows), CHUNK):
        subs = [SimpleNamespace(pk=r[0], currency=r[4], interval=r[6], interval_count=r[7], status=r[10], coupon_id=r[11],
                                discount_applies_from=r[12], discount_applies_until=r[13]) for r in rows[offset:offset + CHUNK]]
        result.update(current_mrr(subs, at))
    return result


# ---------------------------------------------------------------------------------------------
# What a customer reads: the options, priced for their quantity, in their language


def _version_amount(version: PlanVersion, quantity: int) -> int:
    return price_amount(version.price_spec(), quantity)


def options_for(migration: PriceMigration, member: Member, locale: str, tz: str, *, versions: dict | None = None) -> dict:
    """The notice's and the choice page's words for one member (call inside the customer's
    language). ``versions``: PlanVersion by id, preloaded by the notice run."""
    versions = versions or {}

    def version(pk):
        if pk not in versions:
            versions[pk] = PlanVersion.objects.get(pk=pk)
        return versions[pk]

    plan = migration.plan
    currency, quantity = member.currency, member.quantity
    per = interval_word(plan.interval, plan.interval_count, locale)
    old = _version_amount(version(member.old_version_id), quantity)
    new = _version_amount(version(migration.new_version_id), quantity)
    changes_on = local_date(member.target_at, locale, tz)
    options = []
    text = _("From %(date)s you pay %(new)s per %(interval)s instead of %(old)s.") % {
        "date": changes_on, "new": money(new, currency, locale), "interval": per, "old": money(old, currency, locale)}
    if migration.loyalty_percent:
        discounted = new - int((Decimal(new) * migration.loyalty_percent / 100).to_integral_value(rounding="ROUND_HALF_UP"))
        text += " " + ngettext(
            "As a thank-you for staying, %(percent)s%% off the first period: %(amount)s.",
            "As a thank-you for staying, %(percent)s%% off the first %(count)s periods: %(amount)s per %(interval)s.",
            migration.loyalty_periods) % {"percent": format(migration.loyalty_percent.normalize(), "f"),
                                          "count": migration.loyalty_periods, "amount": money(discounted, currency, locale),
                                          "interval": per}
    options.append({"value": Choice.ACCEPT.value, "title": _("Keep %(plan)s") % {"plan": plan.name}, "text": text,
                    "price": money(new, currency, locale)})
    if migration.switch_plan_id:
        switch = migration.switch_plan
        amount = _version_amount(switch.current_version(), quantity)
        options.append({"value": Choice.SWITCH.value, "title": _("Switch to %(plan)s") % {"plan": switch.name},
                        "text": _("From %(date)s you pay %(amount)s per %(interval)s, close to what you pay today.") % {
                            "date": changes_on, "amount": money(amount, currency, locale), "interval": per},
                        "price": money(amount, currency, locale)})
    if migration.annual_version_id:
        amount = _version_amount(version(migration.annual_version_id), quantity)
        options.append({"value": Choice.ANNUAL.value, "title": _("Keep today's price with annual billing"),
                        "text": _("From %(date)s you pay %(amount)s once a year for %(plan)s, the yearly price before the "
                                  "increase, renewed each year at that price.") % {
                            "date": changes_on, "amount": money(amount, currency, locale), "plan": migration.annual_plan.name},
                        "price": money(amount, currency, locale)})
    default = next(o for o in options if o["value"] == migration.default_choice)
    return {
        "plan": plan.name, "old_price": money(old, currency, locale), "new_price": money(new, currency, locale),
        "interval": per, "effective_on": local_date(migration.effective_at, locale, tz), "changes_on": changes_on,
        "options": options,
        "default": _("If you do not choose by %(date)s: %(option)s.") % {"date": changes_on, "option": default["title"]},
        "cancel": _("You may also cancel before %(date)s: you will not be charged the new price.") % {"date": changes_on},
    }


def _drafts(migration: PriceMigration, member_ids: list[int], at: datetime, template: str) -> list[Draft]:
    versions = {v.pk: v for v in PlanVersion.objects.filter(
        pk__in={migration.new_version_id, migration.annual_version_id} - {None} |
        set(Member.objects.filter(pk__in=member_ids).values_list("old_version_id", flat=True).distinct()))}
    members = (Member.objects.filter(pk__in=member_ids).order_by("pk")
               .only("id", "customer_id", "currency", "quantity", "old_version_id", "target_at", "choice"))
    customers = {c.pk: c for c in Customer.objects.filter(pk__in={m.customer_id for m in members})
                 .only("id", "email", "name", "locale", "time_zone")}
    words: dict[tuple, dict] = {}
    drafts = []
    for member in members:
        customer = customers[member.customer_id]
        locale = message_locale(customer.locale)
        key = (locale, customer.time_zone, member.quantity, member.old_version_id, member.currency, member.target_at)
        if key not in words:
            with translation.override("pt-br" if locale == "pt-BR" else "en"):
                words[key] = options_for(migration, member, locale, customer.time_zone, versions=versions)
        drafts.append(Draft(key=f"{template}.{member.pk}", template=template, customer=customer, due_at=at,
                            context={**words[key], "account_url": links.portal_url(customer.pk, "price_change")}))
    return drafts


def _local_day(value: datetime, tz: str):
    """The day ``notifications.context.local_date`` names (UTC when the zone is unknown)."""
    from zoneinfo import ZoneInfo

    try:
        return value.astimezone(ZoneInfo(tz or "UTC")).date()
    except (KeyError, ValueError):
        return value.astimezone(ZoneInfo("UTC")).date()


MESSAGE_FIELDS = ("key", "customer_id", "to_email", "template", "kind", "locale", "subject", "html", "text", "status",
                  "attempts", "due_at", "next_attempt_at", "provider_response", "message_id", "unsubscribe_url", "created_at")
# Stand-ins rendered into a group's message, replaced by each customer's own values (letters
# only: they pass escaping and the HTML-to-text conversion unchanged).
NAME_MARK, URL_MARK = "QZXFIRSTNAMEQZX", "QZXACCOUNTURLQZX"


def send_notices(migration: PriceMigration, members: list[tuple], at: datetime) -> int:
    """Render and write the notice of each member (inside the caller's transaction). ``members``:
    (member id, customer id, currency, quantity, price before's version id, target, e-mail, name,
    locale, time zone), as ``create_migration`` has them.

    Customers who read the same words (same language, time zone, quantity, price before and
    date of change) share one rendering: it is made once with stand-ins for the first name and
    the portal button, which each customer's row then gets (the name HTML-escaped in the HTML
    part, as the template would). The rows are the outbox's (``notifications.outbox``), written
    in bulk; the keys are new (one per member of a new migration)."""
    import html as html_lib
    import secrets

    from assina.notifications.context import common, customer_vars
    from assina.notifications.outbox import mail_domain, recipient_problem
    from assina.notifications.rendering import layout, wrap
    from assina.notifications.models import Message

    templates = TemplateCache()
    versions = {v.pk: v for v in PlanVersion.objects.filter(
        pk__in={migration.new_version_id, migration.annual_version_id, *(m[4] for m in members)} - {None})}
    template = "price_migration_notice"
    domain = mail_domain()
    frames: dict[str, tuple] = {}
    groups: dict[tuple, tuple[str, str, str]] = {}
    base = None
    written = 0
    for offset in range(0, len(members), CHUNK):
        rows = []
        for pk, customer_id, currency, quantity, old_version_id, target_at, email, name, customer_locale, tz in \
                members[offset:offset + CHUNK]:
            locale = message_locale(customer_locale)
            # The words name the change's date, not its instant: a day's subscribers share them.
            key = (locale, tz, quantity, old_version_id, currency, _local_day(target_at, tz))
            group = groups.get(key)
            if group is None:
                if base is None:
                    base = common(Customer(pk=customer_id, name="", email=""), URL_MARK)
                member = Member(pk=pk, currency=currency, quantity=quantity, old_version_id=old_version_id, target_at=target_at)
                with translation.override("pt-br" if locale == "pt-BR" else "en"):
                    words = options_for(migration, member, locale, tz, versions=versions)
                context = {**base, **words, "customer": {"name": NAME_MARK, "first_name": NAME_MARK, "email": NAME_MARK},
                           "account_url": URL_MARK}
                if locale not in frames:
                    frames[locale] = layout(locale, False)
                rendered = templates.get(template, locale).render(context)
                html, text = wrap(rendered, locale, marketing=False, frame=frames[locale])
                group = groups[key] = (rendered.subject[:300], html, text)
            subject, html, text = group
            first = customer_vars(name, email)["first_name"]
            url = links.portal_url(customer_id, "price_change")
            problem = recipient_problem(email)
            status = Message.Status.INVALID if problem else Message.Status.QUEUED
            rows.append((f"{template}.{pk}", customer_id, email[:254], template, "transactional", locale,
                         subject.replace(NAME_MARK, first), html.replace(NAME_MARK, html_lib.escape(first)).replace(URL_MARK, url),
                         text.replace(NAME_MARK, first).replace(URL_MARK, url), status, 0, at,
                         at if status == Message.Status.QUEUED else None, problem, f"<{secrets.token_hex(16)}@{domain}>", "", at))
        written += insert_rows(Message, MESSAGE_FIELDS, rows)
    return written


# ---------------------------------------------------------------------------------------------
# The customer's choice


def open_members(customer_id: int):
    """The customer's price changes still to come (their choice can be made or changed): not
    landed, on a subscription that has not ended and is not cancelling at its period end (a
    customer who cancelled since the notice has nothing left to choose; reactivating brings the
    choice back)."""
    return (Member.objects.select_related("migration__plan", "migration__switch_plan", "migration__annual_plan",
                                          "subscription")
            .filter(customer_id=customer_id, landed_at__isnull=True, subscription__cancel_at_period_end=False)
            .exclude(subscription__status=SubscriptionStatus.CANCELED)
            .order_by("target_at", "pk"))


def is_customers_member(customer_id: int, member_id: int) -> bool:
    return Member.objects.filter(pk=member_id, customer_id=customer_id).exists()


def choose(customer_id: int, member_id: int, choice: str) -> Member:
    """The customer's choice for one of their price changes; re-armed at once when its change
    is already scheduled. Raises ``MigrationError`` (in the active language)."""
    at = clock_now()
    with transaction.atomic():
        member = (Member.objects.select_for_update(of=("self",)).select_related("migration", "subscription")
                  .filter(pk=member_id, customer_id=customer_id).first())
        if member is None:
            raise MigrationError(_("This price change does not exist."))
        migration = member.migration
        if member.landed_at is not None or member.target_at <= at:
            raise MigrationError(_("This price change has already taken effect."))
        if choice not in migration.offers():
            raise MigrationError(_("Please choose one of the options offered."))
        sub = member.subscription
        if sub.status not in LIVE or sub.cancel_at_period_end:
            raise MigrationError(_("Your subscription is cancelled; reactivate it first."))
        if choice == Choice.ANNUAL.value and sub.items.exclude(plan_version__plan_id=migration.plan_id).exists():
            raise MigrationError(_("Your add-ons bill monthly, so annual billing cannot be chosen here. Please contact us."))
        previous = member.choice
        member.choice, member.chosen_at = choice, at
        member.save(update_fields=["choice", "chosen_at"])
        record("price_migration.chosen", member, at, {"migration": f"pm_{migration.pk}", "subscription": f"sub_{sub.pk}",
                                                      "choice": choice, "previous": previous or None}, customer_id=customer_id)
        if member.armed_at is not None and member.armed_choice != choice:
            _arm(member, at)
    return member


# ---------------------------------------------------------------------------------------------
# Due work


def _arm(member: Member, at: datetime) -> None:
    """Schedule the member's choice (or the default) for its current period's end, which is its
    target renewal (the caller checked). Undoes what an earlier arming put on."""
    migration = member.migration
    choice = member.effective_choice
    sub_id = member.subscription_id
    note = ""
    if member.loyalty_applied and choice != Choice.ACCEPT.value:
        try:
            remove_discount(sub_id, source="price_migration")
        except SubscriptionError:
            pass
        member.loyalty_applied = False
    if not Subscription.objects.filter(pk=sub_id, plan_id=migration.plan_id).exists():
        # Moved to another plan since the notice: the change was about the plan left, and
        # scheduling it would move the customer back to it.
        note = _("not scheduled: the subscription moved to another plan")
    else:
        try:
            with transaction.atomic():
                # Marked as the migration's: not the customer's to drop, nor to escape by changing
                # the quantity or switching away and back (``changes.owners_change``).
                if choice == Choice.SWITCH.value:
                    change_subscription(sub_id, plan_code=migration.switch_plan.code, at_period_end=True,
                                        source=PRICE_MIGRATION)
                elif choice == Choice.ANNUAL.value:
                    schedule_version_change(sub_id, version_id=migration.annual_version_id, source=PRICE_MIGRATION)
                else:
                    schedule_version_change(sub_id, version_id=migration.new_version_id, source=PRICE_MIGRATION)
        except SubscriptionError as refused:
            note = str(refused)
    if choice == Choice.ACCEPT.value and migration.loyalty_coupon and not member.loyalty_applied and not note:
        try:
            with transaction.atomic():
                apply_discount(sub_id, coupon_code=migration.loyalty_coupon, source="price_migration")
            member.loyalty_applied = True
        except SubscriptionError as refused:
            note = _("loyalty discount not applied: %(reason)s") % {"reason": refused}
    member.armed_choice, member.armed_at, member.note = choice, at, note[:300]
    member.save(update_fields=["armed_choice", "armed_at", "loyalty_applied", "note"])
    record("price_migration.scheduled", member, at, {"migration": f"pm_{migration.pk}", "subscription": f"sub_{sub_id}",
                                                     "choice": choice, "answered": bool(member.choice), "note": note or None},
           customer_id=member.customer_id)


def _remind(member: Member, at: datetime) -> None:
    queue(_drafts(member.migration, [member.pk], at, "price_migration_reminder"), at)
    member.reminded_at = at
    record("price_migration.reminded", member, at, {"migration": f"pm_{member.migration_id}",
                                                    "subscription": f"sub_{member.subscription_id}"},
           customer_id=member.customer_id)


def _land(member: Member, sub: Subscription, at: datetime) -> None:
    migration = member.migration
    item = sub.items.filter(plan_version__plan__kind=Plan.Kind.BASE).values_list("plan_version_id", "plan_version__plan_id").first()
    version_id, plan_id = item or (None, None)
    if sub.status == "canceled" or sub.cancel_at_period_end or sub.ended_at is not None:
        outcome = Member.Outcome.CANCELLED
    elif sub.status not in LIVE:
        outcome = Member.Outcome.OTHER
    elif version_id == migration.new_version_id:
        outcome = Member.Outcome.ACCEPTED
    elif migration.switch_plan_id and plan_id == migration.switch_plan_id:
        outcome = Member.Outcome.SWITCHED
    elif migration.annual_version_id and version_id == migration.annual_version_id:
        outcome = Member.Outcome.ANNUAL
    else:
        outcome = Member.Outcome.OTHER
    member.outcome, member.landed_at = outcome, at
    member.mrr_after = current_mrr([sub], at).get(sub.pk, 0)
    record("price_migration.landed", member, at, {"migration": f"pm_{migration.pk}", "subscription": f"sub_{sub.pk}",
                                                  "outcome": outcome, "mrr_before": member.mrr_before,
                                                  "mrr_after": member.mrr_after}, customer_id=member.customer_id)


def has_work(until: datetime) -> bool:
    return Member.objects.filter(next_action_at__lte=until).exists()


def next_due() -> datetime | None:
    return (Member.objects.filter(next_action_at__isnull=False).order_by("next_action_at")
            .values_list("next_action_at", flat=True).first())


def process_due(until: datetime, *, at_due_time: bool) -> dict:
    """Reminders, arming and outcomes due up to ``until`` (runs after billing at each stop)."""
    done = {"price_migration_reminded": 0, "price_migration_scheduled": 0, "price_migration_landed": 0,
            "price_migration_waiting": 0}
    ids = list(Member.objects.filter(next_action_at__lte=until).order_by("next_action_at", "id").values_list("id", flat=True))
    for member_id in ids:
        with transaction.atomic():
            member = (Member.objects.select_for_update(of=("self",)).select_related("migration__plan", "migration__switch_plan",
                                                                                     "migration__annual_plan")
                      .filter(pk=member_id, next_action_at__lte=until).first())
            if member is None:
                continue
            at = member.next_action_at if at_due_time else until
            sub = Subscription.objects.get(pk=member.subscription_id)
            if member.remind_at is not None and member.remind_at <= until:
                if not member.choice and sub.status in LIVE and not sub.cancel_at_period_end \
                        and sub.plan_id == member.migration.plan_id:  # not to a customer who left the plan
                    _remind(member, member.remind_at if at_due_time else until)
                    done["price_migration_reminded"] += 1
                member.remind_at = None
            if member.armed_at is None and member.arm_at <= until:
                if sub.status not in LIVE or sub.cancel_at_period_end or sub.current_period_end > member.target_at:
                    member.armed_at = at  # nothing to schedule: cancelled, or its periods changed (read at landing)
                    member.note = _("not scheduled: the subscription is cancelled or its billing period changed")
                elif sub.current_period_end < member.target_at:
                    member.arm_at = max(sub.current_period_end, at + timedelta(hours=1))  # not renewed yet
                    done["price_migration_waiting"] += 1
                else:
                    _arm(member, member.arm_at if at_due_time else until)
                    done["price_migration_scheduled"] += 1
            if member.armed_at is not None and member.target_at <= until:
                if sub.status in LIVE and not sub.cancel_at_period_end and sub.current_period_end <= member.target_at \
                        and sub.next_action_at is not None:
                    # Billing has not renewed it yet: look again then.
                    member.next_action_at = max(sub.next_action_at, at + timedelta(minutes=1))
                    member.save()
                    done["price_migration_waiting"] += 1
                    continue
                _land(member, sub, member.target_at if at_due_time else until)
                done["price_migration_landed"] += 1
            pending = [t for t in (member.remind_at, None if member.armed_at else member.arm_at,
                                   None if member.landed_at else member.target_at) if t is not None]
            member.next_action_at = min(pending) if pending else None
            member.save()
    if done["price_migration_landed"]:
        PriceMigration.objects.filter(status=PriceMigration.Status.NOTIFIED).exclude(
            pk__in=Member.objects.filter(landed_at__isnull=True).values("migration_id")).update(status=PriceMigration.Status.DONE)
    return done
