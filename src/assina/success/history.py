"""The business's history read from the database as arrays (``core.health_inputs.History``).

Customers, subscriptions (imported ones included), engagement events, payment attempts, past-due
invoices, NPS/CSAT answers, support tickets (engagement notes of kind ``ticket`` and feedback's
support notes), the times each customer reached the onboarding milestones — a handful of
``values_list`` queries, whatever the number of customers.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from assina.core.health_inputs import NEVER, History

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_days(moment: datetime | None) -> float:
    return NEVER if moment is None else (moment - EPOCH).total_seconds() / 86400.0


def from_days(days: float) -> datetime:
    from datetime import timedelta

    return EPOCH + timedelta(days=days)


def _days_column(values) -> np.ndarray:
    return np.fromiter((to_days(v) for v in values), dtype=np.float64, count=len(values))


def _pairs(rows, index: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rows = [(index[c], t) for c, t in rows if c in index]
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    cust, times = zip(*rows)
    return np.asarray(cust, dtype=np.int64), _days_column(times)


def onboarding_times(ids: list[int], at: datetime | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(the (n, milestones) times in days each customer first reached each active milestone, NaN: not
    yet; the time they reached the first-value milestone) in ``ids`` order, from the engagement app
    (``engagement.onboarding.onboarding_frame``); None when the owner defined no milestone."""
    from assina.engagement.onboarding import DAY, first_value_milestone, milestones, onboarding_frame

    items = milestones()
    if not ids or not items:
        return None
    frame = onboarding_frame(None, at).reindex(ids)
    reached = np.column_stack([frame[f"reached_{m.pk}"].to_numpy(dtype=np.float64) / DAY for m in items])
    first = first_value_milestone(items)
    return reached, frame[f"reached_{first.pk}"].to_numpy(dtype=np.float64) / DAY


def load(with_onboarding: bool = True, at: datetime | None = None) -> tuple[list[int], History]:
    """(customer ids in index order, their history, with the onboarding milestones' times unless
    ``with_onboarding`` is false)."""
    from assina.customers.models import Customer
    from assina.engagement.models import CustomerNote, EngagementEvent
    from assina.feedback.models import SurveyResponse
    from assina.invoices.models import Invoice
    from assina.payments.models import PaymentAttempt
    from assina.subscriptions.models import Subscription

    customers = list(Customer.objects.filter(erased_at__isnull=True).order_by("pk").values_list("pk", "created_at"))
    ids = [pk for pk, _c in customers]
    index = {pk: i for i, pk in enumerate(ids)}
    n = len(ids)
    signup = _days_column([c for _pk, c in customers])

    start = np.full(n, np.nan)
    end = np.full(n, -np.inf)
    for cust, started, ended, canceled, status in Subscription.objects.values_list(
            "customer_id", "started_at", "ended_at", "canceled_at", "status"):
        i = index.get(cust)
        if i is None:
            continue
        s = to_days(started)
        start[i] = s if np.isnan(start[i]) else min(start[i], s)
        if ended is None and status == "canceled":  # canceled before it ever ran
            ended = canceled or started
        end[i] = max(end[i], to_days(ended))
    end[np.isnan(start)] = np.nan

    ev_c, ev_t = _pairs(EngagementEvent.objects.order_by("occurred_at", "pk").values_list("customer_id", "occurred_at"),
                        index)
    attempts = [(index[c], t or created, st == PaymentAttempt.Status.FAILED) for c, t, created, st in
                PaymentAttempt.objects.exclude(status=PaymentAttempt.Status.PENDING)
                .order_by("completed_at", "created_at", "pk")
                .values_list("invoice__customer_id", "completed_at", "created_at", "status") if c in index]
    pay_c = np.asarray([a[0] for a in attempts], dtype=np.int64)
    pay_t = _days_column([a[1] for a in attempts])
    pay_f = np.asarray([a[2] for a in attempts], dtype=bool)

    spells = [(index[c], d, min(to_days(p), to_days(v))) for c, d, p, v in
              Invoice.objects.filter(dunning_started_at__isnull=False)
              .values_list("customer_id", "dunning_started_at", "paid_at", "voided_at") if c in index]
    due_c = np.asarray([s[0] for s in spells], dtype=np.int64)
    due_from = _days_column([s[1] for s in spells])
    due_until = np.asarray([s[2] for s in spells], dtype=np.float64)

    answers = [(index[c], t, 0 if s == "nps" else 1, score) for c, t, s, score in
               SurveyResponse.objects.filter(survey__in=("nps", "csat"), score__isnull=False)
               .order_by("submitted_at", "pk").values_list("customer_id", "submitted_at", "survey", "score") if c in index]
    ans_c = np.asarray([a[0] for a in answers], dtype=np.int64)
    ans_t = _days_column([a[1] for a in answers])
    ans_s = np.asarray([a[2] for a in answers], dtype=np.int8)
    ans_v = np.asarray([a[3] for a in answers], dtype=np.float64)

    tickets = list(CustomerNote.objects.filter(kind=CustomerNote.Kind.TICKET).values_list("customer_id", "occurred_at"))
    tickets += list(SurveyResponse.objects.filter(source=SurveyResponse.Source.SUPPORT)
                    .values_list("customer_id", "submitted_at"))
    tickets.sort(key=lambda row: row[1])
    tk_c, tk_t = _pairs(tickets, index)

    times = onboarding_times(ids, at) if with_onboarding else None
    reached, first_value = times if times is not None else (None, None)
    return ids, History(signup=signup, start=start, end=end, event_customer=ev_c, event_time=ev_t,
                        payment_customer=pay_c, payment_time=pay_t, payment_failed=pay_f, due_customer=due_c,
                        due_from=due_from, due_until=due_until, answer_customer=ans_c, answer_time=ans_t,
                        answer_survey=ans_s, answer_score=ans_v, ticket_customer=tk_c, ticket_time=tk_t,
                        milestone_reached=reached, first_value=first_value)
