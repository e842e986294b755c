"""Messages that fall due with time: trial ending, upcoming renewal, onboarding steps, win-back,
the monthly value report.

They are found from the rows as they are *now* (a trial that was canceled gets no "trial
ending"), each with a key naming the period it is about, so a pass that runs twice writes
nothing new. ``next_due`` gives the test clock the next moment one falls due, so a simulated
month sends each on its own day (the clock stops there before billing moves the rows on).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest

from assina.core.states import LIVE, PAYING, SubscriptionStatus
from assina.customers.models import Customer
from assina.db import Many
from assina.events.models import Event
from assina.subscriptions.due_work import next_renewals

from . import links
from .context import card_vars, money, month_label, number, subscription_vars
from .models import Message, ProducerState
from .outbox import Draft, render_new, store
from .queries import (first_messages_due, first_subscription_times, last_reminders_pass, queued_keys,
                      subscriptions_changed)

# A reminder found later than this after its time (the worker was stopped) is no longer sent.
GRACE = timedelta(days=7)
# A renewal reminder announces a charge: for the subscriptions that pay for their periods (a
# trial gets its own reminder, "trial ending").
RENEWING_WITH_CHARGE = tuple(sorted(PAYING))


def day_start(at: datetime) -> datetime:
    """Midnight (business time zone) of the day of ``at``: reminders fall due on days, so the
    test clock stops at most once a day for them."""
    zone = ZoneInfo(settings.TIME_ZONE)
    local = at.astimezone(zone)
    return datetime.combine(local.date(), time(), tzinfo=zone)


def day_end(at: datetime) -> datetime:
    zone = ZoneInfo(settings.TIME_ZONE)
    return datetime.combine(at.astimezone(zone).date() + timedelta(days=1), time(), tzinfo=zone)


def _days_between(start: datetime, end: datetime) -> int:
    """Calendar days from ``start`` to ``end`` in the business time zone (at least 1)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return max(1, (end.astimezone(zone).date() - start.astimezone(zone).date()).days)


def _plain_subscriptions():
    from assina.subscriptions.models import Subscription

    # Imported history is never renewed or charged here: no renewal reminder.
    return Subscription.objects.filter(imported_at__isnull=True)


def _subscriptions():
    from assina.subscriptions.models import Subscription

    return Subscription.objects.select_related("customer", "plan", "payment_method", "customer__default_payment_method")


def _priced(subscriptions) -> list:
    """The subscriptions with the price a reminder quotes (``current_amount``), read in bulk."""
    from assina.subscriptions.terms import current_amounts

    subs = list(subscriptions)
    amounts = current_amounts([sub.pk for sub in subs]) if subs else {}
    for sub in subs:
        sub.current_amount = amounts.get(sub.pk, 0)
    return subs


def _not_queued(keys: dict[str, int]) -> list[int]:
    """The ids among ``keys`` (message key -> id) whose message is not in the outbox yet.

    The finders look over a window of days on every pass; checking the keys with one light
    query first means only new reminders load their subscription and build a context.
    """
    queued = queued_keys(keys)
    return [pk for key, pk in keys.items() if key not in queued]


def _card(sub):
    method = sub.payment_method or sub.customer.default_payment_method
    return card_vars(method), method is not None


def trial_ending(until: datetime, at_due_time: bool, only: list[int] | None = None,
                 leads: set | None = None) -> list[Draft]:
    drafts = []
    for days in settings.ASSINA_EMAIL_TRIAL_ENDING_DAYS:
        if leads is not None and days not in leads:
            continue
        lead = timedelta(days=days)
        window = dict(status="trialing", trial_end__gt=until, trial_end__lt=day_end(until) + lead)
        candidates = _plain_subscriptions().filter(**window)
        if only is not None:
            candidates = candidates.filter(pk__in=only)
        new = _not_queued({f"trial_ending:sub:{pk}:{end.isoformat()}": pk for pk, end in
                           candidates.values_list("pk", "trial_end")})
        if not new:
            continue
        for sub in _priced(_subscriptions().filter(pk__in=new, **window)):
            card, has_card = _card(sub)
            customer = sub.customer
            due = max(day_start(sub.trial_end - lead), sub.created_at) if at_due_time else until
            drafts.append(Draft(key=f"trial_ending:sub:{sub.pk}:{sub.trial_end.isoformat()}", template="trial_ending",
                                customer=customer, due_at=due, context={
                                    "subscription": subscription_vars(sub, customer), "card": card, "has_card": has_card,
                                    "days_left": _days_between(due, sub.trial_end),
                                    # No card yet: the button opens the portal on the card.
                                    **({} if has_card else {"account_url": links.portal_url(customer.pk,
                                                                                              "update_payment_method")})}))
    return drafts


def renewal_upcoming(until: datetime, at_due_time: bool, only: list[int] | None = None,
                     leads: set | None = None) -> list[Draft]:
    drafts = []
    for interval, days_list in settings.ASSINA_EMAIL_RENEWAL_DAYS.items():
        for days in days_list:
            if leads is not None and (interval, days) not in leads:
                continue
            lead = timedelta(days=days)
            # Only the nearest reminder of a period: a worker back from a long stop sends one, not two.
            nearer = [d for d in days_list if d < days]
            query = _plain_subscriptions().filter(status__in=RENEWING_WITH_CHARGE, interval=interval, cancel_at_period_end=False,
                                                  current_period_end__gt=until, current_period_end__lt=day_end(until) + lead)
            if nearer:
                query = query.filter(current_period_end__gte=day_end(until) + timedelta(days=max(nearer)))
            if only is not None:
                query = query.filter(pk__in=only)
            new = _not_queued({f"renewal:sub:{pk}:{end.isoformat()}:{days}": pk
                               for pk, end in query.values_list("pk", "current_period_end")})
            if not new:
                continue
            subs = list(_subscriptions().filter(pk__in=new).order_by("pk"))
            coming = next_renewals([sub.pk for sub in subs])
            for sub in subs:
                card, has_card = _card(sub)
                customer = sub.customer
                renewal = coming.get(sub.pk)
                if renewal is None:
                    continue  # gone meanwhile
                # The price quoted is the invoice the renewal will issue, not the plan's price.
                sub.current_amount = renewal.total
                due = max(day_start(sub.current_period_end - lead), sub.current_period_start) if at_due_time else until
                drafts.append(Draft(key=f"renewal:sub:{sub.pk}:{sub.current_period_end.isoformat()}:{days}",
                                    template="renewal_upcoming", customer=customer, due_at=due, context={
                                        "subscription": subscription_vars(sub, customer),
                                        "charge": charge_vars(renewal, sub, customer),
                                        "days_before": _days_between(due, sub.current_period_end),
                                        "card": card, "has_card": has_card}))
    return drafts


def charge_vars(renewal, sub, customer) -> dict:
    """What the renewal will charge, as the reminder tells it (``subscriptions.due_work.next_renewals``)."""
    locale = customer.locale
    return {
        "amount_due": money(renewal.amount_due, sub.currency, locale),
        "credit": money(renewal.credit, sub.currency, locale) if renewal.credit else "",
        "none": renewal.amount_due <= 0,  # nothing to charge: the card is not touched
        "skipped": renewal.skipped,
        "new_plan": renewal.plan_name if renewal.plan_name and renewal.plan_name != sub.plan.name else "",
    }


def onboarding(until: datetime, at_due_time: bool, leads: set | None = None) -> list[Draft]:
    drafts = []
    for step, day in enumerate(settings.ASSINA_EMAIL_ONBOARDING_DAYS[1:], start=1):
        if leads is not None and day not in leads:
            continue
        offset = timedelta(days=day)
        welcomes = Message.objects.filter(template="welcome", due_at__lt=day_end(until) - offset,
                                          due_at__gt=until - offset - GRACE)
        pairs = list(welcomes.values_list("customer_id", "due_at"))
        new = set(_not_queued({f"onboarding_{step}:customer:{customer_id}": customer_id for customer_id, _ in pairs}))
        pairs = [(customer_id, welcomed) for customer_id, welcomed in pairs if customer_id in new]
        if not pairs:
            continue
        done = _milestones_reached([c for c, _ in pairs])
        customers = Customer.objects.in_bulk([c for c, _ in pairs if c not in done])
        subs = {}
        for sub in _subscriptions().filter(customer_id__in=list(customers), status__in=LIVE).order_by("id"):
            subs.setdefault(sub.customer_id, sub)
        _priced(subs.values())
        for customer_id, welcomed in pairs:
            sub = subs.get(customer_id)
            if sub is None:
                continue  # gone or reached the milestones: the sequence stops
            drafts.append(Draft(key=f"onboarding_{step}:customer:{customer_id}", template=f"onboarding_{step}",
                                customer=sub.customer, due_at=day_start(welcomed + offset) if at_due_time else until,
                                context={"subscription": subscription_vars(sub, sub.customer), "day": day}))
    return drafts


def _milestones_reached(customer_ids: list[int]) -> set[int]:
    """Customers who reached every onboarding milestone ("event:<type>", "usage:<metric>")."""
    milestones = settings.ASSINA_EMAIL_ONBOARDING_MILESTONES
    if not milestones:
        return set()
    reached = set(customer_ids)
    for milestone in milestones:
        kind, _sep, name = milestone.partition(":")
        if kind == "event":
            have = set(Event.objects.filter(customer_id__in=customer_ids, type=name).values_list("customer_id", flat=True))
        elif kind == "usage":
            have = _usage_customers(customer_ids, name)
        else:
            have = set()
        reached &= have
    return reached


def _usage_model():
    from django.apps import apps

    try:
        model = apps.get_model("usage", "UsageEvent")
    except LookupError:
        return None
    return model


def _usage_customers(customer_ids: list[int], metric: str) -> set[int]:
    if _usage_model() is None:
        return set()
    from assina.usage.services import customers_with_usage

    return customers_with_usage(customer_ids, metric if metric and metric != "*" else None)


def winback(until: datetime, at_due_time: bool, leads: set | None = None) -> list[Draft]:
    from assina.subscriptions.models import Subscription

    delay = timedelta(days=settings.ASSINA_EMAIL_WINBACK_DAYS)
    window = dict(status="canceled", ended_at__lt=day_end(until) - delay, ended_at__gt=until - delay - GRACE)
    new = _not_queued({f"winback:sub:{pk}": pk for pk in _plain_subscriptions().filter(**window).values_list("pk", flat=True)})
    ended = _priced(_subscriptions().filter(pk__in=new, **window)) if new else []
    if not ended:
        return []
    back = set(Subscription.objects.filter(customer_id__in=[s.customer_id for s in ended], status__in=LIVE | {SubscriptionStatus.PAUSED})
               .values_list("customer_id", flat=True))
    return [Draft(key=f"winback:sub:{sub.pk}", template="winback", customer=sub.customer,
                  due_at=day_start(sub.ended_at + delay) if at_due_time else until,
                  context={"subscription": subscription_vars(sub, sub.customer), "offer_code": settings.ASSINA_EMAIL_WINBACK_OFFER})
            for sub in ended if sub.customer_id not in back]


def _month_start(at: datetime) -> datetime:
    zone = ZoneInfo(settings.TIME_ZONE)
    local = at.astimezone(zone)
    return datetime.combine(date(local.year, local.month, 1), time(), tzinfo=zone)


def _next_month_start(at: datetime) -> datetime:
    start = _month_start(at)
    return datetime.combine(date(start.year + start.month // 12, start.month % 12 + 1, 1), time(), tzinfo=start.tzinfo)


def value_report(until: datetime, at_due_time: bool, leads: set | None = None) -> list[Draft]:
    """On the first of each month: what each customer did last month, from their usage."""
    model = _usage_model()
    this_month = _month_start(until)
    if model is None or until - this_month > GRACE:
        return []
    last_month = _month_start(this_month - timedelta(days=1))
    rows = (model.objects.filter(timestamp__gte=last_month, timestamp__lt=this_month)
            .values_list("customer_id", "metric_code").order_by("customer_id", "metric_code"))
    from django.db.models import Sum

    totals: dict[int, list[tuple[str, int]]] = {}
    for customer_id, code, total in rows.annotate(total=Sum("value")).values_list("customer_id", "metric_code", "total"):
        totals.setdefault(customer_id, []).append((code, total))
    live = set(_subscriptions().filter(customer_id__in=list(totals), status__in=LIVE).values_list("customer_id", flat=True))
    customers = Customer.objects.in_bulk([c for c in totals if c in live])
    names = _metric_names()
    label = f"{last_month.year}-{last_month.month:02d}"
    return [Draft(key=f"value_report:customer:{c.pk}:{label}", template="value_report", customer=c,
                  due_at=this_month if at_due_time else until,
                  context={"month": month_label(last_month.date(), c.locale),
                           "usage": [{"metric": names.get(code, code), "total": number(total, c.locale)}
                                     for code, total in totals[c.pk]]})
            for c in customers.values()]


def _metric_names() -> dict[str, str]:
    from django.apps import apps

    try:
        return dict(apps.get_model("catalog", "Metric").objects.values_list("code", "name"))
    except LookupError:
        return {}


FINDERS = (trial_ending, renewal_upcoming, onboarding, winback, value_report)


# Reminders whose time can come within the day a subscription changes (a short trial, a period
# that now ends within the lead time); the others fall due on a later day than what starts them.
SAME_DAY_FINDERS = (trial_ending, renewal_upcoming)


def produce_reminders(until: datetime, *, at_due_time: bool) -> Counter:
    """Queue every reminder due by ``until``. The first pass of a day runs every finder; a later
    pass the same day only looks at the subscriptions changed since the last pass (see
    ``has_work``), which is all that can have become due meanwhile."""
    # Find and render first, then write in one short transaction: on SQLite the write lock is
    # then held for the inserts only. A message's unique key keeps a pass that runs twice (or on
    # two workers) from doubling anything, and the pass is recorded after its messages.
    # The top event id is read before the finders: an event written while they run calls for
    # another pass.
    last_until, last_event_id, seen = _last_pass(with_top_event=True)
    if _new_day(until, last_until):
        due = _due_by(last_until, until) if last_until is not None else None
        drafts = [draft for finder in FINDERS if due is None or finder in due
                  for draft in finder(until, at_due_time, leads=None if due is None else due[finder])]
    else:
        changed = _changed_within_lead(last_event_id, seen, until)
        drafts = [draft for finder in SAME_DAY_FINDERS for draft in finder(until, at_due_time, only=changed)] if changed else []
    rows = render_new(drafts, until)
    with transaction.atomic():
        queued = store(rows)
        _record_pass(until, seen)
    return Counter({"emails_queued": queued})


def _changed_within_lead(after_id: int, up_to_id: int, until: datetime) -> list[int]:
    """Subscriptions changed by the events ``after_id < id <= up_to_id`` whose trial or period
    ends within the longest lead of a same-day reminder: the only ones a later pass of the day
    can find something for (most changes of a day are about periods that end weeks away, and
    they cost one query instead of the finders' dozen)."""
    from django.db.models import Q

    from assina.subscriptions.models import Subscription

    soon = Q()
    trial_days = settings.ASSINA_EMAIL_TRIAL_ENDING_DAYS
    if trial_days:
        soon |= Q(status="trialing", trial_end__lt=day_end(until) + timedelta(days=max(trial_days)))
    for interval, days_list in settings.ASSINA_EMAIL_RENEWAL_DAYS.items():
        if days_list:
            soon |= Q(status__in=RENEWING_WITH_CHARGE, interval=interval, cancel_at_period_end=False,
                      current_period_end__lt=day_end(until) + timedelta(days=max(days_list)))
    changed = subscriptions_changed(after_id, up_to_id) if soon else []
    if not changed:
        return []
    return list(Subscription.objects.filter(soon, pk__in_list=Many(changed)).values_list("pk", flat=True))


def _record_pass(until: datetime, seen: int) -> None:
    """One update (the row is created by the first pass ever)."""
    state = ProducerState.objects.filter(pk=1)
    if not state.update(reminders_until=Greatest(Coalesce(F("reminders_until"), Value(until)), Value(until)),
                        reminders_event_id=Greatest(F("reminders_event_id"), Value(seen))):
        ProducerState.objects.create(pk=1, reminders_until=until, reminders_event_id=seen)


def has_work(until: datetime) -> bool:
    """Whether a pass up to ``until`` could find a reminder (a cheap check for the job runner).

    Reminders fall due at the start of a day, so a pass is needed once a new day has begun
    since the last one. Within a day only a change to a subscription (a new short trial, a
    period that now ends within the lead time) can make one due at once, and every such change
    writes an event about the subscription.
    """
    last_until, last_event_id = _last_pass()
    if _new_day(until, last_until):
        return True
    return bool(subscriptions_changed(last_event_id, limit=1))


def _last_pass(with_top_event: bool = False) -> tuple:
    """Up to when the last pass looked and the highest event id it had seen (and, with
    ``with_top_event``, the highest event id now). One plain statement: every stop of the
    clock asks."""
    until, event_id, top_id = last_reminders_pass(with_top_event)
    return (until, event_id, top_id) if with_top_event else (until, event_id)


def _new_day(until: datetime, last_until: datetime | None) -> bool:
    return last_until is None or day_start(until) > day_start(last_until)


def next_due() -> Due | None:
    """The earliest moment after the last pass at which a reminder falls due (for the clock),
    and until when it may wait for a later stop of the clock, stamped with its own time: a day,
    and a trial or renewal reminder never past the moment it announces (billing then moves the
    row on)."""
    from assina.jobs import Due

    after, _event_id = _last_pass()
    if after is None:
        from assina.time import now

        after = now()  # no pass yet: from the clock's time before it moves
    upcoming = [(due, latest) for _finder, _lead, due, latest in _upcoming(after) if due > after]
    if not upcoming:
        return None
    return Due(min(due for due, _ in upcoming), min(latest for _, latest in upcoming))


def _due_by(after: datetime, until: datetime) -> dict:
    """The finders (and their leads) with a reminder due after the pass at ``after`` and by
    ``until``: a day's first pass runs only those (most days only some renewals fall due)."""
    due: dict = {}
    for finder, lead, at, _latest in _upcoming(after):
        if after < at <= until:
            due.setdefault(finder, set()).add(lead)
    return due


def _upcoming(after: datetime) -> list[tuple]:
    """For each finder and lead, the first day after the pass at ``after`` on which it finds a
    reminder, and until when that may wait: ``(finder, lead, due, latest)``.

    The clock asks at every stop, so this is two plain SQL statements (a minimum per kind of
    reminder over subscriptions, ``queries.first_subscription_times``, and over welcome
    messages, ``queries.first_messages_due``) rather than ORM aggregates, whose building cost
    several times their running.
    """
    tomorrow = day_end(after)  # the first day whose reminders are not looked for yet
    leads: list[tuple] = []  # (finder, lead key, lead)
    for days in settings.ASSINA_EMAIL_TRIAL_ENDING_DAYS:
        leads.append((trial_ending, days, timedelta(days=days)))
    trials = len(leads)
    for interval, days_list in settings.ASSINA_EMAIL_RENEWAL_DAYS.items():
        for days in days_list:
            leads.append((renewal_upcoming, (interval, days), timedelta(days=days)))
    delay = timedelta(days=settings.ASSINA_EMAIL_WINBACK_DAYS)
    *firsts, first_ended = first_subscription_times(
        [tomorrow + lead for _finder, _key, lead in leads[:trials]],
        [(RENEWING_WITH_CHARGE, key[0], tomorrow + lead) for _finder, key, lead in leads[trials:]],
        tomorrow - delay)
    wait = timedelta(days=1)
    upcoming: list[tuple] = []
    for (finder, key, lead), first in zip(leads, firsts):
        if first is not None:
            due = day_start(first - lead)
            upcoming.append((finder, key, due, min(first, due + wait)))
    if first_ended:
        due = day_start(first_ended + delay)
        upcoming.append((winback, None, due, due + wait))
    onboarding_days = settings.ASSINA_EMAIL_ONBOARDING_DAYS[1:]
    if onboarding_days:
        welcomes = first_messages_due("welcome", [tomorrow - timedelta(days=day) for day in onboarding_days])
        for day, first in zip(onboarding_days, welcomes):
            if first:
                due = day_start(first + timedelta(days=day))
                upcoming.append((onboarding, day, due, due + wait))
    if _usage_model() is not None:
        due = _next_month_start(after)
        upcoming.append((value_report, None, due, due + wait))
    return upcoming
