"""Everything held about one customer, as plain JSON-ready data (``assina customer export``,
``GET /api/v1/customers/{id}/export``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from django.db.models import Count, Sum

from assina.customers.models import BalanceTransaction, Customer
from assina.engagement.services import export_customer_engagement
from assina.events.models import Event
from assina.events.public import public_events
from assina.feedback.models import SurveyOptOut, SurveyResponse
from assina.retention.models import CancelSession
from assina.invoices.models import Invoice
from assina.notifications.models import MarketingConsent, Message
from assina.payments.models import PaymentAttempt, PaymentMethod, Refund
from assina.playbooks.models import PlaybookOffer
from assina.subscriptions.models import Subscription
from assina.usage.models import UsageEvent
from assina.webhooks.models import WebhookDelivery


def _t(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def export_customer(customer: Customer) -> dict[str, Any]:
    """The customer's profile, subscriptions, invoices, cards (brand and last 4 digits only),
    payments, refunds, credit ledger, messages sent, marketing consent, usage summary, events about
    them, the webhook deliveries of those events (as ids: the payload is the event), the coupons
    offered to them in the portal, and their engagement events, notes and tasks."""
    c = customer
    invoices = list(Invoice.objects.filter(customer=c).order_by("pk"))
    events = list(Event.objects.filter(customer_id=c.pk).order_by("pk"))
    consent = MarketingConsent.objects.filter(customer_id=c.pk).first()
    return {
        "customer": {
            "id": f"cus_{c.pk}", "email": c.email, "name": c.name, "locale": c.locale, "currency": c.currency,
            "time_zone": c.time_zone, "country": c.country, "tax_id": c.tax_id, "metadata": c.metadata,
            "shipping_address": c.shipping_address,
            "credit_balance": c.credit_balance, "created_at": _t(c.created_at), "erased_at": _t(c.erased_at),
        },
        "subscriptions": [{
            "id": f"sub_{s.pk}", "plan": s.plan.code, "status": s.status, "currency": s.currency,
            "interval": s.interval, "interval_count": s.interval_count, "started_at": _t(s.started_at),
            "current_period_start": _t(s.current_period_start), "current_period_end": _t(s.current_period_end),
            "trial_end": _t(s.trial_end), "cancel_at_period_end": s.cancel_at_period_end,
            "canceled_at": _t(s.canceled_at), "ended_at": _t(s.ended_at), "cancel_reason": s.cancel_reason,
        } for s in Subscription.objects.filter(customer=c).select_related("plan").order_by("pk")],
        "invoices": [{
            "id": f"in_{i.pk}", "number": i.number, "status": i.status, "currency": i.currency,
            "billing_reason": i.billing_reason, "period_start": _t(i.period_start), "period_end": _t(i.period_end),
            "subtotal": i.subtotal, "discount": i.discount, "total": i.total, "amount_due": i.amount_due,
            "amount_paid": i.amount_paid, "created_at": _t(i.created_at), "paid_at": _t(i.paid_at),
            "lines": [{"description": line.description, "amount": line.amount} for line in i.lines.order_by("pk")],
        } for i in invoices],
        "payment_methods": [{
            "id": f"pm_{m.pk}", "brand": m.brand, "last4": m.last4, "exp_month": m.exp_month, "exp_year": m.exp_year,
            "created_at": _t(m.created_at), "removed_at": _t(m.detached_at),
        } for m in PaymentMethod.objects.filter(customer=c).order_by("pk")],
        "payments": [{
            "invoice": a.invoice.number or f"in_{a.invoice_id}", "attempt": a.number, "status": a.status,
            "amount": a.amount, "currency": a.currency, "decline_code": a.decline_code,
            "payment_method": f"pm_{a.payment_method_id}" if a.payment_method_id else None,
            "created_at": _t(a.created_at),
        } for a in PaymentAttempt.objects.filter(invoice__customer=c).select_related("invoice").order_by("pk")],
        "refunds": [{
            "invoice": r.invoice.number, "amount": r.amount, "status": r.status, "created_at": _t(r.created_at),
        } for r in Refund.objects.filter(invoice__customer=c).select_related("invoice").order_by("pk")],
        "balance_transactions": [{
            "kind": b.kind, "amount": b.amount, "currency": b.currency, "description": b.description,
            "invoice": b.invoice_id and f"in_{b.invoice_id}", "created_at": _t(b.created_at),
        } for b in BalanceTransaction.objects.filter(customer=c).order_by("pk")],
        "messages": [{
            "template": m.template, "kind": m.kind, "to": m.to_email, "subject": m.subject, "text": m.text,
            "status": m.status, "due_at": _t(m.due_at), "sent_at": _t(m.sent_at),
        } for m in Message.objects.filter(customer=c).order_by("pk")],
        "survey_responses": [{
            "survey": r.survey, "score": r.score, "comment": r.comment, "source": r.source, "tags": r.tags,
            "submitted_at": _t(r.submitted_at),
        } for r in SurveyResponse.objects.filter(customer=c).order_by("pk")],
        "cancel_sessions": [{
            "subscription": f"sub_{x.subscription_id}", "started_at": _t(x.started_at), "reason": x.reason,
            "reason_text": x.reason_text, "offer": x.offer_kind, "offer_terms": x.offer_terms,
            "feedback": x.feedback_text, "outcome": x.outcome, "completed_at": _t(x.completed_at),
        } for x in CancelSession.objects.filter(customer=c).order_by("pk")],
        "surveys_opted_out_at": _t(SurveyOptOut.objects.filter(customer=c).values_list("at", flat=True).first()),
        "marketing_consent": None if consent is None else {
            "status": consent.status, "source": consent.source, "changed_at": _t(consent.changed_at)},
        "usage": [{"metric": row["metric_code"], "events": row["events"], "total": row["total"]}
                  for row in UsageEvent.objects.filter(customer=c).values("metric_code")
                  .annotate(events=Count("pk"), total=Sum("value")).order_by("metric_code")],
        "events": public_events(events),
        "webhook_deliveries": [{
            "id": f"whd_{d.pk}", "endpoint": f"we_{d.endpoint_id}", "event": f"evt_{d.event_id}", "status": d.status,
            "delivered_at": _t(d.delivered_at),
        } for d in WebhookDelivery.objects.filter(event__customer_id=c.pk).order_by("pk")],
        "portal_offers": [{
            "coupon": x.coupon.code, "subscription": f"sub_{x.subscription_id}", "created_at": _t(x.created_at),
            "expires_at": _t(x.expires_at), "accepted_at": _t(x.accepted_at), "declined_at": _t(x.declined_at),
        } for x in PlaybookOffer.objects.filter(customer=c).select_related("coupon").order_by("pk")],
        **export_customer_engagement(c.pk),  # engagement_events, notes, tasks
    }
