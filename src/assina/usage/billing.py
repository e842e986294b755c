"""Lines for metered prices, billed in arrears from usage events when a period closes.

The billing run calls ``metered_lines`` once per batch of renewals, inside the batch's
transaction, through the port ``assina.subscriptions.metered`` (registered in
``UsageConfig.ready``: subscriptions sits below usage and does not import it); a subscription's final invoice (cancel now, pause) calls it for the period that
stops early. For a batch it costs a few statements, not one per subscription:

1. the metered prices of the batch's subscriptions (one joined read; nothing more when none);
2. the periods already billed (a re-run bills nothing twice);
3. one UPDATE marking every unbilled event of each (customer, metric) up to the period's end
   with the subscription and period that bill it — events older than the period start are late;
4. one aggregate per (subscription, metric) of the marked events; late ones are read apart;
5. the usage charges (one INSERT) and the ``usage.late`` events (one INSERT).

Marking before aggregating makes two transactions billing the same customer's events agree:
whichever marks an event first bills it, the other no longer sees it as unbilled.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from django.utils.translation import gettext_noop as N_

from assina.catalog.models import MeteredPrice, Metric
from assina.core.invoicing import DraftLine, LineKind
from assina.core.pricing import display_unit_amount, price_amount
from assina.db import Many, insert_rows
from assina.events.models import Event
from assina.subscriptions.models import SubscriptionItem

from . import queries, settle
from .models import UsageCharge, UsageEvent

EVENT_FIELDS = ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data")
CHARGE_FIELDS = ("subscription", "metric_code", "period_start", "period_end", "quantity", "amount", "late_quantity",
                 "late_amount", "currency", "free", "created_at")

USAGE_TEXT = N_("%(metric)s usage")
TRIAL_USAGE_TEXT = N_("%(metric)s usage (free trial)")
LATE_TEXT = N_("Late %(metric)s usage for %(start)s to %(end)s")
LATE_UNPERIODED_TEXT = N_("Late %(metric)s usage from before %(start)s")


@dataclass(frozen=True)
class Target:
    """One metered price of one subscription whose period [start, end) is closing."""

    subscription_id: int
    customer_id: int
    start: datetime
    end: datetime
    free: bool  # a trial period: counted, not charged
    price: MeteredPrice

    @property
    def metric(self) -> Metric:
        return self.price.metric


def metered_lines(renewals: list[tuple[int, datetime, datetime]]) -> dict[int, list[DraftLine]]:
    """For (subscription id, start, end) of each period being closed, the metered lines to add
    to the invoice issued at its end. Subscriptions without metered prices are absent.

    Must run inside the transaction that issues those invoices: it marks the events it bills.
    """
    if not renewals:
        return {}
    periods = {sub: (start, end) for sub, start, end in renewals}
    items = list(SubscriptionItem.objects.filter(subscription_id__in_list=Many(periods), plan_version__metered_prices__isnull=False)
                 .values_list("subscription_id", "subscription__customer_id", "subscription__status", "plan_version__metered_prices"))
    if not items:
        return {}
    prices = MeteredPrice.objects.select_related("metric", "plan_version").in_bulk([p for *_, p in items])
    min_start = min(start for start, _ in periods.values())
    done = set(UsageCharge.objects.filter(subscription_id__in_list=Many(periods), period_start__gte=min_start)
               .values_list("subscription_id", "period_start"))
    targets: dict[tuple[int, str], Target] = {}
    for sub, customer, status, price_id in sorted(items):
        start, end = periods[sub]
        price = prices[price_id]
        key = (sub, price.metric.code)
        if (sub, start) in done or key in targets:
            continue  # already billed (a re-run), or a second price for one metric: the first one bills it
        targets[key] = Target(sub, customer, start, end, status == "trialing", price)
    if not targets:
        return {}
    _mark(targets.values())
    totals = _aggregate(targets)
    lines: dict[int, list[DraftLine]] = defaultdict(list)
    charges = []
    for key, target in targets.items():
        quantity = totals.get(key, 0)
        spec = target.price.price_spec()
        amount = 0 if target.free else price_amount(spec, quantity)
        template = TRIAL_USAGE_TEXT if target.free else USAGE_TEXT
        params = {"metric": target.metric.name}
        lines[target.subscription_id].append(DraftLine(
            kind=LineKind.SUBSCRIPTION, description=template % params, amount=amount, quantity=quantity,
            unit_amount=None if target.free else display_unit_amount(spec, quantity),
            period_start=target.start, period_end=target.end, item_code=target.metric.code,
            description_template=template, description_params=params))
        charges.append((target.subscription_id, target.metric.code, target.start, target.end, quantity, amount, 0, 0,
                        spec.currency, target.free, target.end))
    insert_rows(UsageCharge, CHARGE_FIELDS, charges)
    for sub, late_lines in _bill_late(targets).items():
        lines[sub].extend(late_lines)
    return dict(lines)


def _mark(targets) -> int:
    """Mark every unbilled event of each target's customer and metric up to the period end.

    Pending events (recent SQLite batches, ``assina.usage.settle``) are settled first, in this
    transaction, so that the window index finds every event: no batch can store more while this
    transaction holds SQLite's write lock, and none is ever pending on PostgreSQL.
    """
    settle.settle()
    return queries.mark_billed([(t.customer_id, t.metric.code, t.subscription_id, t.start, t.end) for t in targets])


def _aggregate(targets: dict[tuple[int, str], Target]) -> dict[tuple[int, str], int]:
    """The quantity of each (subscription, metric) from the events marked for its period."""
    periods = list({(t.subscription_id, t.start) for t in targets.values()})
    distinct = sorted({(t.metric.code, t.metric.unique_property) for t in targets.values()
                       if t.metric.aggregation == Metric.Aggregation.UNIQUE_COUNT})
    result = {}
    for sub, code, count, total, maximum, *uniques in queries.billed_totals(periods, distinct):
        target = targets.get((int(sub), code))
        if target is None:
            continue
        result[(int(sub), code)] = _quantity(target.metric, count, total, maximum,
                                             dict(zip([c for c, _ in distinct], uniques)).get(code, 0))
    return result


def _quantity(metric: Metric, count: int, total: int, maximum: int, unique: int) -> int:
    match metric.aggregation:
        case Metric.Aggregation.SUM:
            return int(total)
        case Metric.Aggregation.MAX:
            return int(maximum)
        case Metric.Aggregation.COUNT:
            return int(count)
    return int(unique)


def _aware(value) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value


def _bill_late(targets: dict[tuple[int, str], Target]) -> dict[int, list[DraftLine]]:
    """Lines for events marked now whose time is before the closing period: they arrived after
    their own period was billed. Rare, so handled group by group."""
    late = defaultdict(list)
    for sub, code, billed_start, timestamp, value, properties in (
            UsageEvent.objects.filter(billed_subscription_id__in_list=sorted({t.subscription_id for t in targets.values()}), late=True)
            .filter(billed_period_start__gte=min(t.start for t in targets.values()))
            .values_list("billed_subscription_id", "metric_code", "billed_period_start", "timestamp", "value", "properties")
            .order_by("timestamp")):
        target = targets.get((sub, code))
        if target is None or billed_start != target.start:
            continue  # marked late by an earlier period's billing: already billed then
        late[(sub, code)].append((timestamp, value, properties))
    if not late:
        return {}
    keys = list(late)
    charges = defaultdict(list)
    for charge in UsageCharge.objects.filter(subscription_id__in_list=sorted({s for s, _ in keys})).order_by("period_start"):
        charges[(charge.subscription_id, charge.metric_code)].append(charge)
    lines: dict[int, list[DraftLine]] = defaultdict(list)
    events = []
    for key in keys:
        target = targets[key]
        by_charge: dict[int | None, list] = defaultdict(list)
        own = {c.pk: c for c in charges[key] if c.period_start < target.start}
        for event in late[key]:
            covering = next((c for c in own.values() if c.period_start <= event[0] < c.period_end), None)
            by_charge[covering.pk if covering else None].append(event)
        for charge_id, group in by_charge.items():
            line, data = _late_line(target, own.get(charge_id), group)
            lines[target.subscription_id].append(line)
            events.append(("usage.late", target.end, target.customer_id, "subscription", target.subscription_id, data))
    insert_rows(Event, EVENT_FIELDS, events)
    return lines


def _late_line(target: Target, charge: UsageCharge | None, group: list) -> tuple[DraftLine, dict]:
    """Late usage of one earlier period: the difference the late events make to that period's
    price (priced on the period's whole quantity), or, for events outside any billed period of
    this subscription, those events on their own."""
    metric, spec = target.metric, target.price.price_spec()
    values = [value for _, value, _ in group]
    params = {"metric": metric.name}
    if charge is None:
        before = 0
        quantity = _quantity(metric, len(values), sum(values), max(values), len(_distinct(metric, group)))
        amount_before, free = 0, target.free
        params["start"] = target.start.date().isoformat()
        template = LATE_UNPERIODED_TEXT
        period_start, period_end = group[0][0], target.start
    else:
        before = charge.quantity + charge.late_quantity
        if metric.aggregation == Metric.Aggregation.SUM:
            quantity = before + sum(values)
        elif metric.aggregation == Metric.Aggregation.COUNT:
            quantity = before + len(values)
        elif metric.aggregation == Metric.Aggregation.MAX:
            quantity = max(before, *values)
        else:  # distinct values of the whole period, late ones included
            # Billed events are settled (``_mark`` settles first): the window index finds them.
            period_events = (UsageEvent.objects.filter(customer_id=target.customer_id, metric_code=metric.code, pending=False,
                                                       billed_subscription_id=target.subscription_id,
                                                       timestamp__gte=charge.period_start, timestamp__lt=charge.period_end)
                             .values_list("timestamp", "value", "properties"))
            quantity = len(_distinct(metric, list(period_events)))
        amount_before, free = charge.amount + charge.late_amount, charge.free
        params.update(start=charge.period_start.date().isoformat(), end=charge.period_end.date().isoformat())
        template = LATE_TEXT
        period_start, period_end = charge.period_start, charge.period_end
    amount = 0 if free else price_amount(spec, quantity) - amount_before
    if charge is not None:
        UsageCharge.objects.filter(pk=charge.pk).update(late_quantity=quantity - charge.quantity,
                                                        late_amount=charge.late_amount + amount)
    line = DraftLine(kind=LineKind.SUBSCRIPTION, description=template % params, amount=amount, quantity=quantity - before,
                     period_start=period_start, period_end=period_end, item_code=metric.code,
                     description_template=template, description_params=params)
    data = {"metric": metric.code, "events": len(group), "quantity": quantity - before, "amount": amount,
            "currency": spec.currency, "period_start": period_start.isoformat(), "period_end": period_end.isoformat()}
    return line, data


def _distinct(metric: Metric, events: list) -> set[str]:
    values = set()
    for _, _, properties in events:
        if isinstance(properties, str):
            properties = json.loads(properties)
        value = (properties or {}).get(metric.unique_property)
        if value is not None:
            values.add(str(value) if not isinstance(value, bool) else str(value).lower())
    return values
