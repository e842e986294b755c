"""The public shape of events (``assina.events.public``): the API's /events and the webhook body
show every id as the API writes it and every time in UTC with a Z, from one translation; events
stay stored as the services wrote them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from api_support import api, problem  # noqa: F401 - fixture
from factories import GOOD_CARD, start_clock, utc

from assina.time import now
from assina.customers.models import Customer
from assina.events.models import Event
from assina.events.public import ID_KEYS, PLAIN_KEYS, SUBJECTS, TIMESTAMP_KEYS, public_data, public_events
from assina.invoices.models import Invoice
from assina.customers.services import update_customer
from assina.subscriptions import expiring_cards as expiring
from assina.payments.dunning import save_policy
from assina.payments.methods import add_card, replace
from assina.payments.models import PaymentAttempt
from assina.payments.refunds import refund_invoice
from assina.subscriptions.models import Subscription
from assina.subscriptions.services import pause, resume
from assina.usage.services import add_metered_price, create_metric
from assina.webhooks.delivery import payload, webhook_body
from assina.webhooks.services import create_endpoint, delete_endpoint, rotate_secret, update_endpoint

ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
API_PREFIXES = {"cus_": "/customers/", "sub_": "/subscriptions/", "in_": "/invoices/", "evt_": "/events/"}


def test_public_data_prefixes_the_id_keys_and_writes_times_in_utc_with_a_z():
    stored = {"invoice": 31, "subscription": None, "endpoint": "we_3", "refund": 4, "replaced": "7",
              "period_start": "2027-01-31T07:00:00-03:00", "ends_at": "2027-02-28T10:00:00.250000+00:00",
              "next_retry_at": None, "attempt": 2, "version": 1, "number": "2027-000031", "name": "2027-01-01T00:00:00+00:00",
              "payment": {"attempt": 1, "charge": "ch_1"}, "previous": {"plan": "pro", "subscription": 9},
              "changed": ["name"], "final": True}
    assert public_data(stored) == {
        "invoice": "in_31", "subscription": None, "endpoint": "we_3", "refund": "re_4", "replaced": "pm_7",
        "period_start": "2027-01-31T10:00:00Z", "ends_at": "2027-02-28T10:00:00.250000Z",
        "next_retry_at": None, "attempt": 2, "version": 1, "number": "2027-000031",
        "name": "2027-01-01T00:00:00+00:00",  # not a time key: a name is shown as written
        "payment": {"attempt": 1, "charge": "ch_1"}, "previous": {"plan": "pro", "subscription": "sub_9"},
        "changed": ["name"], "final": True}
    assert stored["invoice"] == 31  # the stored data is not touched


@pytest.mark.django_db
def test_the_api_event_and_the_webhook_body_show_the_api_ids_and_utc_times(api):
    start_clock(utc(2027, 1, 31, 10))
    api.ok("POST", "/plans", {"code": "pro", "name": "Pro", "amount": 4990, "currency": "BRL", "interval": "month"})
    customer = api.ok("POST", "/customers", {"email": "ana@example.com", "payment_method_token": GOOD_CARD})
    sub = api.ok("POST", "/subscriptions", {"customer": customer["id"], "plan": "pro"})
    invoice = api.ok("GET", "/invoices", {"subscription": sub["id"]})["data"][0]

    paid = api.ok("GET", "/events", {"type": "invoice.paid"})["data"][0]
    assert paid["subject"] == {"type": "invoice", "id": invoice["id"]} and paid["customer"] == customer["id"]
    data = paid["data"]
    assert data["invoice"] == invoice["id"] and data["subscription"] == sub["id"]
    assert data["period_start"] == invoice["period_start"] == "2027-01-31T10:00:00Z"
    assert data["total"] == invoice["total"] == 4990 and data["currency"] == "BRL"
    stored = Event.objects.get(pk=int(paid["id"].removeprefix("evt_")))
    assert stored.data["invoice"] == int(invoice["id"].removeprefix("in_"))  # storage unchanged

    # The webhook body: the same event, its data plus the subject and the customer.
    body = json.loads(payload(stored))
    assert body == {"id": paid["id"], "type": "invoice.paid", "timestamp": paid["occurred_at"],
                    "data": {**data, "object": "invoice", "object_id": invoice["id"], "customer": customer["id"]}}
    assert body == webhook_body(api.ok("GET", f"/events/{paid['id']}"))

    created = api.ok("GET", "/events", {"type": "subscription.created"})["data"][0]
    assert created["subject"] == {"type": "subscription", "id": sub["id"]}
    plan = api.ok("GET", "/events", {"type": "plan.created"})["data"][0]
    assert plan["subject"] == {"type": "plan", "id": "pro"} and plan["customer"] is None
    card = api.ok("GET", "/events", {"type": "payment_method.attached"})["data"][0]
    assert card["subject"] == {"type": "payment_method", "id": customer["default_payment_method"]}

    # Every prefixed id an event shows is one the API finds.
    for event in api.ok("GET", "/events", {"limit": 100})["data"]:
        for value in [event["customer"], event["subject"]["id"], *event["data"].values()]:
            for prefix, path in API_PREFIXES.items():
                if isinstance(value, str) and value.startswith(prefix):
                    api.ok("GET", f"{path}{value}")


def _keys(data, prefix=""):
    for key, value in data.items():
        yield prefix + key, key
        if isinstance(value, dict):
            yield from _keys(value, f"{prefix}{key}.")


def _values(data):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _values(value)
        else:
            yield key, value


def _more_event_types(clock: datetime) -> None:
    """Events the simulation does not make: refunds, pauses, cards replaced, metrics, webhooks."""
    attempt = PaymentAttempt.objects.filter(status="succeeded", invoice__status="paid").order_by("-pk").first()
    refund_invoice(attempt.invoice_id, clock, amount=100, reason="goodwill")
    sub = Subscription.objects.filter(status="active").order_by("pk").first()
    pause(sub.pk)
    resume(sub.pk)
    customer = Customer.objects.filter(default_payment_method__isnull=False).order_by("pk").first()
    replace(customer, customer.default_payment_method_id, clock, number=GOOD_CARD)
    update_customer(customer.pk, {"name": "Ana Souza"}, at=clock)
    other = Customer.objects.exclude(pk=customer.pk).order_by("pk").first()
    add_card(other, GOOD_CARD, clock, exp_month=clock.month, exp_year=clock.year)  # expires this month
    expiring.run(clock + timedelta(days=2), at_due_time=False)  # announced 30 days before its end
    save_policy(retry_days="1,3", hard_codes="stolen_card", soft_codes="insufficient_funds", grace_days=5,
                final_action="cancel", at=clock)
    create_metric(code="api_calls", name="API calls", at=clock)
    add_metered_price(plan_code=Invoice.objects.filter(subscription__isnull=False).first().subscription.plan.code,
                      metric_code="api_calls", unit_amount=2, at=clock)
    endpoint = create_endpoint(url="http://127.0.0.1:9/hooks", event_types=["invoice.*"])
    update_endpoint(endpoint.pk, description="shop", enabled=False)
    rotate_secret(endpoint.pk)
    delete_endpoint(endpoint.pk)


@pytest.mark.django_db(transaction=True)
def test_every_key_the_services_write_is_classified_and_shown_in_the_api_shape():
    from assina.simulation.runner import simulate

    simulate(customers=30, months=4, seed=3, end=datetime(2027, 3, 1, 15, 30, tzinfo=UTC), parallel_mail=False)
    _more_event_types(now())
    events = list(Event.objects.order_by("pk"))
    types = {e.type for e in events}
    assert {"invoice.paid", "payment.failed", "subscription.updated", "refund.succeeded", "credit_note.created",
            "subscription.paused", "payment_method.replaced", "plan.metered_price_added",
            "webhook_endpoint.secret_rotated", "customer.updated", "payment_method.expiring",
            "dunning_policy.updated"} <= types, sorted(types)

    known = set(ID_KEYS) | TIMESTAMP_KEYS | PLAIN_KEYS
    unclassified = {(e.type, path) for e in events for path, key in _keys(e.data) if key not in known}
    assert unclassified == set(), "classify these keys in assina.events.public"

    for shown in public_events(events):
        assert shown["id"].startswith("evt_") and shown["occurred_at"].endswith("Z")
        assert shown["subject"]["type"] in {name for name, _ in SUBJECTS.values()}, shown
        assert not shown["subject"]["id"].isdigit(), shown
        for key, value in _values(shown["data"]):
            if key in ID_KEYS and value is not None:
                assert isinstance(value, str) and value.startswith(ID_KEYS[key]), (shown["type"], key, value)
            if isinstance(value, str) and ISO_TIME.match(value):
                assert value.endswith("Z"), (shown["type"], key, value)
            if key in TIMESTAMP_KEYS and value is not None:
                assert ISO_TIME.match(value) and value.endswith("Z"), (shown["type"], key, value)
