"""Recent events as an owner reads them: what happened in words, to whom, with links.

The event log stores machine names (``invoice.paid``) and ids; the dashboard shows "Invoice
paid", the customer's name and the invoice's number, each linking to its admin page.
"""

from __future__ import annotations

from collections import defaultdict

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from assina.catalog.models import Coupon, Plan, PromotionCode
from assina.customers.models import Customer
from assina.invoices.models import CreditNote, Invoice
from assina.payments.models import PaymentMethod
from assina.subscriptions.models import Subscription

LABELS = {
    "product.updated": _("Product changed"),
    "plan.created": _("Plan created"),
    "plan.price_changed": _("Plan price changed"),
    "plan.updated": _("Plan changed"),
    "plan.metered_price_added": _("Usage price added to a plan"),
    "metric.created": _("Usage metric created"),
    "coupon.created": _("Coupon created"),
    "coupon.updated": _("Coupon changed"),
    "promotion_code.created": _("Promotion code created"),
    "promotion_code.updated": _("Promotion code changed"),
    "customer.created": _("New customer"),
    "customer.updated": _("Customer details changed"),
    "customer.erased": _("Customer's personal data erased"),
    "invoice.created": _("Invoice issued"),
    "invoice.paid": _("Invoice paid"),
    "invoice.voided": _("Invoice voided"),
    "invoice.marked_uncollectible": _("Invoice marked uncollectible"),
    "invoice.recovered": _("Failed invoice recovered"),
    "invoice.credit_applied": _("Credit applied to an invoice"),
    "invoice.dunning_exhausted": _("Payment retries ran out"),
    "credit_note.created": _("Credit note issued"),
    "payment_method.attached": _("Card added"),
    "payment_method.default_changed": _("Default card changed"),
    "payment_method.detached": _("Card removed"),
    "payment_method.replaced": _("Card replaced"),
    "payment_method.expiring": _("Card about to expire"),
    "payment.failed": _("Payment failed"),
    "payment.retry_scheduled": _("Payment retry scheduled"),
    "payment.credited_to_balance": _("Payment credited to the balance"),
    "refund.succeeded": _("Refund made"),
    "refund.failed": _("Refund failed"),
    "dunning_policy.updated": _("Payment retry rules changed"),
    "subscription.created": _("New subscription"),
    "subscription.updated": _("Subscription changed"),
    "subscription.discount_applied": _("Discount applied"),
    "subscription.discount_removed": _("Discount removed"),
    "subscription.change_scheduled": _("Plan change scheduled"),
    "subscription.change_canceled": _("Scheduled plan change withdrawn"),
    "subscription.cancel_scheduled": _("Cancellation scheduled"),
    "subscription.reactivated": _("Subscription reactivated"),
    "subscription.canceled": _("Subscription ended"),
    "subscription.paused": _("Subscription paused"),
    "subscription.resumed": _("Subscription resumed"),
    "subscription.dunning_exhausted": _("Subscription unpaid after retries"),
    "subscription.catch_up_held": _("Subscription held: too many periods due at once"),
    "subscription.catch_up_released": _("Subscription released after catch-up"),
    "usage.late": _("Late usage reported"),
    "webhook_endpoint.created": _("Webhook endpoint added"),
    "webhook_endpoint.updated": _("Webhook endpoint changed"),
    "webhook_endpoint.secret_rotated": _("Webhook secret rotated"),
    "webhook_endpoint.disabled": _("Webhook endpoint disabled"),
    "webhook_endpoint.deleted": _("Webhook endpoint removed"),
    "webhook_delivery.redelivery_requested": _("Webhook redelivery requested"),
    "portal.link_created": _("Portal link created"),
    "portal.session_started": _("Customer opened the portal"),
    "portal.access_revoked": _("Portal access revoked"),
    "cancel_flow.started": _("Customer started to cancel"),
    "cancel_flow.reason_given": _("Cancellation reason given"),
    "cancel_flow.offer_shown": _("Retention offer shown"),
    "cancel_flow.offer_accepted": _("Retention offer accepted"),
    "cancel_flow.offer_declined": _("Retention offer declined"),
    "cancel_flow.completed": _("Cancel flow completed"),
    "cancel_flow.abandoned": _("Cancel flow abandoned"),
    "cancel_flow.save_validated": _("Save checked 30 days after the cancel flow"),
    "survey.sent": _("Survey sent"),
    "survey_response.recorded": _("Survey answered"),
    "survey_response.updated": _("Survey answer changed"),
    "survey.opted_out": _("Customer opted out of surveys"),
    "upgrade.annual_switched": _("Switched to annual billing"),
    "upgrade.trial_started": _("Temporary upgrade started"),
    "upgrade.trial_reminded": _("Temporary upgrade ending reminder sent"),
    "upgrade.trial_confirmed": _("Temporary upgrade kept"),
    "upgrade.trial_reverted": _("Temporary upgrade ended"),
    "customer.imported": _("Customer imported"),
    "subscription.imported": _("Subscription imported (history, not billed)"),
    "subscription.import_ended": _("Imported subscription ended"),
    "import.completed": _("History imported"),
    "playbook.run": _("Playbook ran"),
    "playbook.webhook": _("Playbook called the webhooks"),
    "playbook.offer_made": _("Coupon offered in the portal (playbook)"),
    "playbook.offer_accepted": _("Coupon offer accepted in the portal"),
    "playbook.offer_declined": _("Coupon offer declined in the portal"),
    "checkout_session.created": _("Checkout started"),
    "checkout_session.completed": _("Checkout completed"),
    "customer.shipping_address_updated": _("Shipping address changed"),
    "customer_note.created": _("Note added"),
    "onboarding_milestone.created": _("Onboarding milestone added"),
    "onboarding_milestone.updated": _("Onboarding milestone changed"),
    "plan.bundle_created": _("Bundle created"),
    "price_migration.created": _("Price increase started"),
    "price_migration.reminded": _("Price increase reminder sent"),
    "price_migration.chosen": _("Price increase option chosen"),
    "price_migration.scheduled": _("Price increase scheduled for renewal"),
    "price_migration.landed": _("Price increase applied"),
    "subscription.delivery_skipped": _("Delivery skipped"),
    "subscription.delivery_unskipped": _("Skipped delivery restored"),
    "suggestion.shown": _("Suggestion shown"),
    "suggestion.accepted": _("Suggestion accepted"),
    "task.created": _("Task added"),
    "task.completed": _("Task done"),
}


def label(event_type: str) -> str:
    """The event in words; a type without a label yet reads as its name ("Subscription held")."""
    known = LABELS.get(event_type)
    if known is not None:
        return str(known)
    return event_type.replace(".", " ").replace("_", " ").capitalize()


# subject_type -> (model, admin change view, how the subject is named)
SUBJECTS = {
    "invoice": (Invoice, "admin:invoices_invoice_change", lambda o: o.number or _("draft invoice")),
    "creditnote": (CreditNote, "admin:invoices_creditnote_change", lambda o: o.number),
    "subscription": (Subscription, "admin:subscriptions_subscription_change", lambda o: o.plan.name),
    "customer": (Customer, "admin:customers_customer_change", lambda o: o.name or o.email),
    "paymentmethod": (PaymentMethod, "admin:payments_paymentmethod_change", lambda o: f"{o.brand} •••• {o.last4}"),
    "plan": (Plan, "admin:catalog_plan_change", lambda o: o.name),
    "coupon": (Coupon, "admin:catalog_coupon_change", lambda o: o.name or o.code),
    "promotioncode": (PromotionCode, "admin:catalog_promotioncode_change", lambda o: o.code),
}


def _url(view: str, pk: int) -> str | None:
    try:
        return reverse(view, args=[pk])
    except NoReverseMatch:
        return None


def described(events: list[dict]) -> list[dict]:
    """Each event with ``label``, ``customer`` and ``subject`` as (text, url or None); one query per kind."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for e in events:
        if e["subject_type"] in SUBJECTS:
            wanted[e["subject_type"]].add(e["subject_id"])
        if e["customer_id"]:
            wanted["customer"].add(e["customer_id"])
    found: dict[str, dict[int, object]] = {}
    for kind, ids in wanted.items():
        model = SUBJECTS[kind][0]
        query = model.objects.filter(pk__in=ids)
        if kind == "subscription":
            query = query.select_related("plan")
        found[kind] = {o.pk: o for o in query}

    def named(kind: str, pk: int | None) -> tuple[str, str | None]:
        if pk is None:
            return "", None
        obj = found.get(kind, {}).get(pk)
        if obj is None:  # deleted since, or a kind without an admin page
            return f"#{pk}", None
        _model, view, name = SUBJECTS[kind]
        return str(name(obj)), _url(view, pk)

    out = []
    for e in events:
        subject = named(e["subject_type"], e["subject_id"]) if e["subject_type"] in SUBJECTS else (f"#{e['subject_id']}", None)
        out.append({**e, "label": label(e["type"]), "customer": named("customer", e["customer_id"]), "subject": subject})
    return out
