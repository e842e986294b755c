"""What the top of a customer's page says: their subscriptions and MRR, health score with its
reasons, churn risk with its factors, NPS, tenure, lifetime value, open tasks and the
invoices an owner may refund. Every part is a few indexed reads of this one customer."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from assina.catalog.models import Plan
from assina.core.invoice_states import InvoiceStatus
from assina.core.nps import category
from assina.core.states import LIVE, SubscriptionStatus
from assina.customers.models import Customer
from assina.engagement.models import Task
from assina.feedback.models import Survey, SurveyResponse
from assina.invoices.models import Invoice
from assina.subscriptions.models import Subscription
from assina.subscriptions.terms import current_mrr
from assina.success.models import HealthScore

from .timeline import CATEGORY_WORDS, response_item

PAUSABLE = {SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PAST_DUE.value}


def _words(codes: list) -> list[str]:
    """Reasons or churn factors (codes with their figures) in the reader's language."""
    from assina.success.wording import reasons_list

    return reasons_list(list(codes or []))


def health(customer_id: int) -> dict | None:
    """The current health score, or None when the customer was not scored yet."""
    row = HealthScore.objects.filter(customer_id=customer_id).first()
    if row is None:
        return None
    return {"score": row.score, "band": row.band, "band_label": row.get_band_display(),
            "reasons": _words(row.reasons), "churn": row.churn_probability,
            "factors": _words(row.churn_factors), "risk_source": row.get_risk_source_display(),
            "computed_at": row.computed_at}


def nps(customer_id: int) -> dict:
    answers = list(SurveyResponse.objects.filter(customer_id=customer_id, survey=Survey.NPS, score__isnull=False)
                   .order_by("-submitted_at", "-id").values_list("score", "submitted_at")[:1])
    if not answers:
        return {"score": None}
    score, at = answers[0]
    return {"score": score, "category": category(score), "category_label": str(CATEGORY_WORDS[category(score)]), "at": at}


def value(customer_id: int) -> dict | None:
    """Lifetime value from the dashboard's forecast (kept between requests; None when the
    customer pays nothing now, no model fits, or the forecast fails)."""
    from assina.analytics import forecasts
    from assina.analytics.service import MetricsError

    try:
        found = forecasts.clv(customer=customer_id)
    except (MetricsError, ValueError):
        return None
    rows = found["customers"]
    return {**rows[0], "currency": found["currency"]} if rows else None


def summary(customer: Customer, at: datetime) -> dict:
    subs = list(Subscription.objects.filter(customer=customer).select_related("plan", "coupon")
                .order_by("ended_at", "-started_at", "-id")[:20])
    current = [s for s in subs if s.ended_at is None]
    mrr = current_mrr(current, at) if current else {}
    for s in subs:
        s.workspace_mrr = mrr.get(s.pk, 0)
        s.can_pause = s.status in PAUSABLE
        s.can_resume = s.status == SubscriptionStatus.PAUSED.value
        s.can_cancel = s.ended_at is None and s.status != SubscriptionStatus.CANCELED.value
        s.can_change = s.status in {v.value for v in LIVE}
    invoices = list(Invoice.objects.filter(customer=customer, status=InvoiceStatus.PAID.value)
                    .order_by("-paid_at", "-id")[:12])
    tasks = list(Task.objects.filter(customer=customer, done_at__isnull=True).order_by("due_at", "id")[:20])
    responses = list(SurveyResponse.objects.filter(customer=customer).prefetch_related("theme_assignments__theme")
                     .order_by("-submitted_at", "-id")[:20])
    return {
        "customer": customer, "subscriptions": subs, "current": current, "mrr": sum(mrr.values()),
        "mrr_currency": current[0].currency if current else customer.currency,
        "tenure_days": max(0, (at - customer.created_at).days), "health": health(customer.pk), "nps": nps(customer.pk),
        "clv": value(customer.pk), "paid_invoices": invoices, "tasks": tasks,
        "feedback": [response_item(r) for r in responses],
    }


def plan_choices(sub: Subscription) -> list[Plan]:
    """The plans a subscription can change to here: active base plans in its currency (a change
    of billing interval starts a new period at once, which the preview says)."""
    return list(Plan.objects.filter(kind=Plan.Kind.BASE, active=True, currency=sub.currency).order_by("name", "pk"))

