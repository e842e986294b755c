"""The public shape of an event: what ``GET /api/v1/events`` answers and what webhooks carry.

Events are stored as their services wrote them (``data`` holds database ids as numbers and times
as ``isoformat()`` text, sometimes in the business time zone); notifications and analytics read
them that way. Outside, an event must look like the API's own resources: every id carries its
kind's prefix (``sub_7``, ``in_31``; plans, products, coupons and metrics by their code) and every
time is ISO 8601 in UTC with a ``Z``. ``public_events`` is that translation, the only one: the
API's event resource and the webhook body both use it.

The keys of ``data`` that hold ids or times are listed explicitly (``ID_KEYS``,
``TIMESTAMP_KEYS``) rather than guessed from their values: a number is not always an id
(``attempt`` is a count, ``version`` a version) and a name may look like a date. ``PLAIN_KEYS``
lists the keys shown as stored, so that a test can tell when a service writes a key nobody
classified (tests/integration/test_event_representation.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from django.apps import apps

from .models import Event

EVENT_PREFIX = "evt_"
CUSTOMER_PREFIX = "cus_"

# subject_type (the model's name) -> (the API's object name, id prefix). A prefix of None: the
# API names that kind by its code, looked up (in bulk) from CODE_MODELS.
SUBJECTS: dict[str, tuple[str, str | None]] = {
    "customer": ("customer", "cus_"),
    "subscription": ("subscription", "sub_"),
    "invoice": ("invoice", "in_"),
    "paymentmethod": ("payment_method", "pm_"),
    "promotioncode": ("promotion_code", "promo_"),
    "webhookendpoint": ("webhook_endpoint", "we_"),
    "webhookdelivery": ("webhook_delivery", "whd_"),
    "usageevent": ("usage_event", "ue_"),
    # Kinds the API does not serve (yet) get prefixes too, so no event shows a bare number.
    "paymentattempt": ("payment_attempt", "pa_"),
    "refund": ("refund", "re_"),
    "creditnote": ("credit_note", "cn_"),
    "scheduledchange": ("scheduled_change", "sch_"),
    "dunningpolicy": ("dunning_policy", "dp_"),
    "plan": ("plan", None),
    "product": ("product", None),
    "coupon": ("coupon", None),
    "metric": ("metric", None),
}
CODE_MODELS = {"plan": ("catalog", "Plan"), "product": ("catalog", "Product"), "coupon": ("catalog", "Coupon"),
               "metric": ("catalog", "Metric")}

# Keys of ``data`` (at any depth) whose value is the id of an object of one kind.
ID_KEYS: dict[str, str] = {
    "customer": "cus_",
    "subscription": "sub_",
    "invoice": "in_",
    "payment_method": "pm_",
    "replaced": "pm_",           # payment_method.replaced: the card the new one replaced
    "refund": "re_",
    "scheduled_change": "sch_",
    "endpoint": "we_",           # written already prefixed by the webhooks app
    "delivery": "whd_",
    "event": "evt_",
}
# Keys of ``data`` whose value is a time.
TIMESTAMP_KEYS = frozenset({
    "trial_end", "ends_at", "ended_at", "resumes_at", "effective_at", "next_retry_at", "failed_since",
    "failing_since", "period_start", "period_end", "expires_at", "previous_secret_expires_at",
})
# Keys shown as stored: amounts (minor units, next to ``currency``), codes, numbers that are not
# ids (invoice and credit-note numbers, attempt counts, versions), texts, flags, nested changes.
PLAIN_KEYS = frozenset({
    "active", "aggregation", "amount", "amount_due", "attempt", "attempts", "billing_reason", "brand", "changed",
    "change", "charge", "code", "continued_period", "country", "coupon", "credit_balance", "credit_note", "currency",
    "decline_code", "default", "description", "email", "enabled", "event_types", "events", "exp_month", "exp_year",
    "expired", "final", "final_action", "grace_days", "hard_decline", "hard_decline_codes", "invoiced_now", "last4",
    "locale", "message", "metric", "name", "number", "outcome", "payment", "plan", "pricing_model", "previous",
    "previous_amount", "previous_status", "proration", "quantity", "reason", "retry_days", "soft_decline_codes",
    "public", "saved", "source", "status", "still_paying", "tax_id", "to_balance", "total", "unit_amount", "url", "version",
})


def utc_text(value: datetime) -> str:
    """A time as the API writes it: ISO 8601 in UTC with a Z (assina.api.schemas.Timestamp)."""
    if value.tzinfo is None:  # stored times are aware; a naive one is UTC (USE_TZ)
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _time(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, str):
        try:
            return utc_text(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return value  # not a time after all: shown as stored rather than dropped
    return value


def _ident(prefix: str, value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return f"{prefix}{value}"
    return value  # already "we_3" (or not an id we know how to write): as stored


def public_data(data: Any) -> Any:
    """``data`` with ids prefixed and times in UTC with a Z, at any depth; a new dict."""
    if isinstance(data, list):
        return [public_data(item) for item in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if key in ID_KEYS:
            out[key] = _ident(ID_KEYS[key], value)
        elif key in TIMESTAMP_KEYS:
            out[key] = _time(value)
        else:
            out[key] = public_data(value)
    return out


def _codes(events: Iterable[Event]) -> dict[tuple[str, int], str]:
    """The codes of the code-named subjects among ``events``: one query per kind present."""
    wanted: dict[str, set[int]] = {}
    for e in events:
        if e.subject_type in CODE_MODELS:
            wanted.setdefault(e.subject_type, set()).add(e.subject_id)
    codes = {}
    for kind, pks in wanted.items():
        model = apps.get_model(*CODE_MODELS[kind])
        for pk, code in model.objects.filter(pk__in=pks).values_list("pk", "code"):
            codes[(kind, pk)] = code
    return codes


def subject(e: Event, codes: dict[tuple[str, int], str]) -> dict:
    name, prefix = SUBJECTS.get(e.subject_type, (e.subject_type, None))
    if prefix is not None:
        ident = f"{prefix}{e.subject_id}"
    else:  # by its code; a row gone since (never for catalog rows, which are not deleted) by its number
        ident = codes.get((e.subject_type, e.subject_id), str(e.subject_id))
    return {"type": name, "id": ident}


def public_events(events: list[Event]) -> list[dict]:
    """The events as the API's event object: id, type, occurred_at, customer, subject, data."""
    codes = _codes(events)
    return [{
        "id": f"{EVENT_PREFIX}{e.pk}", "object": "event", "type": e.type, "occurred_at": utc_text(e.occurred_at),
        "customer": f"{CUSTOMER_PREFIX}{e.customer_id}" if e.customer_id is not None else None,
        "subject": subject(e, codes), "data": public_data(e.data or {}),
    } for e in events]


def public_event(e: Event) -> dict:
    return public_events([e])[0]
