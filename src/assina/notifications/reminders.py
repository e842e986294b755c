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
from django.db.models import Min

from assina.customers.models import Customer
from assina.events.models import Event

from .context import card_vars, month_label, number, subscription_vars
from .models import Message, ProducerState
from .outbox import Draft, queue

# A reminder found later than this after its time (the worker was stopped) is no longer sent.
GRACE = timedelta(days=7)
LIVE = ("active", "trialing", "past_due")


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

    return Subscription.objects.all()


def _subscriptions():
    from assina.subscriptions.models import Subscription

    return Subscription.objects.select_related("customer", "plan", "payment_method",
                                               "customer__default_payment_method").prefetch_related("items__plan_version")


def _not_queued(keys: dict[str, int]) -> list[int]:
    """The ids among ``keys`` (message key -> id) whose message is not in the outbox yet.

    The finders look over a window of days on every pass; checking the keys with one light
    query first means only new reminders load their subscription and build a context.
    """
    if not keys:
        return []
    queued = set(Message.objects.filter(key__in=list(keys)).values_list("key", flat=True))
    return [pk for key, pk in keys.items() if key not in queued]


def _card(sub):
    method = sub.payment_method or sub.customer.default_payment_method
    return card_vars(method), method is not None


def trial_ending(until: datetime, at_due_time: bool) -> list[Draft]:
    drafts = []
    for days in settings.ASSINA_EMAIL_TRIAL_ENDING_DAYS:
        lead = timedelta(days=days)
        window = dict(status="trialing", trial_end__gt=until, trial_end__lt=day_end(until) + lead)
        new = _not_queued({f"trial_ending:sub:{pk}:{end.isoformat()}": pk for pk, end in
                           _plain_subscriptions().filter(**window).values_list("pk", "trial_end")})
        for sub in _subscriptions().filter(pk__in=new, **window):
            card, has_card = _card(sub)
            customer = sub.customer
            due = max(day_start(sub.trial_end - lead), sub.created_at) if at_due_time else until
            drafts.append(Draft(key=f"trial_ending:sub:{sub.pk}:{sub.trial_end.isoformat()}", template="trial_ending",
                                customer=customer, due_at=due, context={
                                    "subscription": subscription_vars(sub, customer), "card": card, "has_card": has_card,
                                    "days_left": _days_between(due, sub.trial_end)}))
    return drafts


def renewal_upcoming(until: datetime, at_due_time: bool) -> list[Draft]:
    drafts = []
    for interval, days_list in settings.ASSINA_EMAIL_RENEWAL_DAYS.items():
        for days in days_list:
            lead = timedelta(days=days)
            # Only the nearest reminder of a period: a worker back from a long stop sends one, not two.
            nearer = [d for d in days_list if d < days]
            query = _plain_subscriptions().filter(status__in=("active", "past_due"), interval=interval, cancel_at_period_end=False,
                                                  current_period_end__gt=until, current_period_end__lt=day_end(until) + lead)
            if nearer:
                query = query.filter(current_period_end__gte=day_end(until) + timedelta(days=max(nearer)))
            new = _not_queued({f"renewal:sub:{pk}:{end.isoformat()}:{days}": pk
                               for pk, end in query.values_list("pk", "current_period_end")})
            for sub in _subscriptions().filter(pk__in=new).order_by("pk"):
                card, has_card = _card(sub)
                customer = sub.customer
                due = max(day_start(sub.current_period_end - lead), sub.current_period_start) if at_due_time else until
                drafts.append(Draft(key=f"renewal:sub:{sub.pk}:{sub.current_period_end.isoformat()}:{days}",
                                    template="renewal_upcoming", customer=customer, due_at=due, context={
                                        "subscription": subscription_vars(sub, customer),
                                        "days_before": _days_between(due, sub.current_period_end),
                                        "card": card, "has_card": has_card}))
    return drafts


def onboarding(until: datetime, at_due_time: bool) -> list[Draft]:
    drafts = []
    for step, day in enumerate(settings.ASSINA_EMAIL_ONBOARDING_DAYS[1:], start=1):
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
    model = _usage_model()
    if model is None:
        return set()
    query = model.objects.filter(customer_id__in=customer_ids)
    if metric and metric != "*":
        query = query.filter(**{_metric_field(model): metric})
    return set(query.values_list("customer_id", flat=True).distinct())


def _metric_field(model) -> str:
    names = {f.name for f in model._meta.get_fields()}
    return "metric_code" if "metric_code" in names else "metric"


def winback(until: datetime, at_due_time: bool) -> list[Draft]:
    from assina.subscriptions.models import Subscription

    delay = timedelta(days=settings.ASSINA_EMAIL_WINBACK_DAYS)
    window = dict(status="canceled", ended_at__lt=day_end(until) - delay, ended_at__gt=until - delay - GRACE)
    new = _not_queued({f"winback:sub:{pk}": pk for pk in _plain_subscriptions().filter(**window).values_list("pk", flat=True)})
    ended = list(_subscriptions().filter(pk__in=new, **window)) if new else []
    if not ended:
        return []
    back = set(Subscription.objects.filter(customer_id__in=[s.customer_id for s in ended], status__in=LIVE + ("paused",))
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


def value_report(until: datetime, at_due_time: bool) -> list[Draft]:
    """On the first of each month: what each customer did last month, from their usage."""
    model = _usage_model()
    this_month = _month_start(until)
    if model is None or until - this_month > GRACE:
        return []
    last_month = _month_start(this_month - timedelta(days=1))
    time_field = next(n for n in ("timestamp", "occurred_at", "recorded_at") if n in {f.name for f in model._meta.get_fields()})
    metric = _metric_field(model)
    rows = (model.objects.filter(**{f"{time_field}__gte": last_month, f"{time_field}__lt": this_month})
            .values_list("customer_id", metric).order_by("customer_id", metric))
    from django.db.models import Sum

    totals: dict[int, list[tuple[str, int]]] = {}
    for customer_id, code, total in rows.annotate(total=Sum("value")).values_list("customer_id", metric, "total"):
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


def produce_reminders(until: datetime, *, at_due_time: bool) -> Counter:
    counts: Counter = Counter()
    with transaction.atomic():
        for finder in FINDERS:
            counts["emails_queued"] += queue(finder(until, at_due_time), until)
        ProducerState.objects.get_or_create(pk=1)
        ProducerState.objects.filter(pk=1).exclude(reminders_until__gte=until).update(reminders_until=until)
    return counts


def next_due() -> datetime | None:
    """The earliest moment after the last pass at which a reminder falls due (for the clock)."""
    from assina.subscriptions.models import Subscription

    after = ProducerState.objects.filter(pk=1).values_list("reminders_until", flat=True).first()
    if after is None:
        from assina.clock.services import now

        after = now()  # no pass yet: from the clock's time before it moves
    candidates: list[datetime] = []
    tomorrow = day_end(after)  # the first day whose reminders are not looked for yet
    for days in settings.ASSINA_EMAIL_TRIAL_ENDING_DAYS:
        first = (Subscription.objects.filter(status="trialing", trial_end__gte=tomorrow + timedelta(days=days))
                 .aggregate(t=Min("trial_end"))["t"])
        if first:
            candidates.append(day_start(first - timedelta(days=days)))
    for interval, days_list in settings.ASSINA_EMAIL_RENEWAL_DAYS.items():
        for days in days_list:
            first = (Subscription.objects.filter(status__in=("active", "past_due"), interval=interval, cancel_at_period_end=False,
                                                 current_period_end__gte=tomorrow + timedelta(days=days))
                     .aggregate(t=Min("current_period_end"))["t"])
            if first:
                candidates.append(day_start(first - timedelta(days=days)))
    for day in settings.ASSINA_EMAIL_ONBOARDING_DAYS[1:]:
        first = (Message.objects.filter(template="welcome", due_at__gte=tomorrow - timedelta(days=day))
                 .aggregate(t=Min("due_at"))["t"])
        if first:
            candidates.append(day_start(first + timedelta(days=day)))
    delay = timedelta(days=settings.ASSINA_EMAIL_WINBACK_DAYS)
    first = Subscription.objects.filter(status="canceled", ended_at__gte=tomorrow - delay).aggregate(t=Min("ended_at"))["t"]
    if first:
        candidates.append(day_start(first + delay))
    if _usage_model() is not None:
        candidates.append(_next_month_start(after))
    from .campaigns import next_scheduled

    scheduled = next_scheduled(after)
    if scheduled:
        candidates.append(scheduled)
    later = [c for c in candidates if c > after]
    return min(later) if later else None
