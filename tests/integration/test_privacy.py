"""Personal data (issue 14): a customer's export holds everything about them; an erasure
anonymises them (name, email, tax id, message bodies, personal data in events; cards detached at
the gateway; no more mail) while invoices keep their numbers and amounts and ``assina check``
stays clean. Through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from api_support import api, problem  # noqa: F401
from factories import GOOD_CARD, start_clock, utc

from assina.checks import run_checks
from assina.customers.models import Customer
from assina.events.models import Event
from assina.invoices.models import Invoice, InvoiceLine
from assina.notifications.models import MarketingConsent, Message
from assina.notifications.outbox import recipient_problem
from assina.payments.models import PaymentMethod
from assina.scheduler import run_jobs_until
from assina.time import now

pytestmark = pytest.mark.django_db

EMAIL, NAME, TAX_ID = "ana.souza@example.com", "Ana Souza", "123.456.789-09"


@pytest.fixture
def ana(api):
    """A customer with a paid invoice, a card, mail sent and a subscription canceled (with a reason)."""
    start_clock(utc(2027, 1, 31, 10))
    api.ok("POST", "/plans", {"code": "pro", "name": "Pro", "amount": 4990, "currency": "BRL", "interval": "month"})
    customer = api.ok("POST", "/customers", {"email": EMAIL, "name": NAME, "tax_id": TAX_ID, "country": "BR",
                                             "metadata": {"crm": "Ana's lead"}, "payment_method_token": GOOD_CARD})
    sub = api.ok("POST", "/subscriptions", {"customer": customer["id"], "plan": "pro"})
    api.ok("POST", f"/subscriptions/{sub['id']}/cancel", {"at_period_end": False, "reason": f"{NAME} moved abroad"})
    run_jobs_until(now())  # the welcome and receipt mail
    assert Message.objects.filter(customer_id=int(customer["id"][4:])).exists()
    return customer


def money() -> list:
    return (sorted(Invoice.objects.values_list("pk", "number", "status", "total", "amount_due", "amount_paid"))
            + sorted(InvoiceLine.objects.values_list("pk", "invoice_id", "amount", "description")))


def everything_about(customer_id: int) -> str:
    customer = Customer.objects.filter(pk=customer_id).values()
    events = Event.objects.filter(customer_id=customer_id).values("data")
    messages = Message.objects.filter(customer_id=customer_id).values("to_email", "subject", "html", "text")
    return json.dumps([list(customer), list(events), list(messages)], default=str)


def test_export_holds_everything_about_the_customer(api, ana):
    export = api.ok("GET", f"/customers/{ana['id']}/export")
    assert export["customer"]["email"] == EMAIL and export["customer"]["tax_id"] == TAX_ID
    assert export["customer"]["metadata"] == {"crm": "Ana's lead"}
    assert [s["cancel_reason"] for s in export["subscriptions"]] == [f"{NAME} moved abroad"]
    assert len(export["invoices"]) == 1 and export["invoices"][0]["amount_paid"] == 4990
    assert export["payment_methods"][0]["last4"] == "4242" and "token" not in export["payment_methods"][0]
    assert [p["status"] for p in export["payments"]] == ["succeeded"]
    assert {m["template"] for m in export["messages"]} >= {"receipt"}
    assert "customer.created" in {e["type"] for e in export["events"]}
    assert all(set(d) == {"id", "endpoint", "event", "status", "delivered_at"} for d in export["webhook_deliveries"])
    assert set(export) == {"customer", "subscriptions", "invoices", "payment_methods", "payments", "refunds",
                           "balance_transactions", "messages", "marketing_consent", "usage", "events",
                           "webhook_deliveries", "survey_responses", "surveys_opted_out_at", "cancel_sessions", "portal_offers",
                           "engagement_events", "notes", "tasks"}


def test_erasure_anonymises_the_customer_and_keeps_the_money(api, ana):
    customer_id = int(ana["id"][4:])
    before = money()
    assert all(v in everything_about(customer_id) for v in (EMAIL, NAME, TAX_ID))

    result = api.ok("POST", f"/customers/{ana['id']}/erase")

    assert (result["already_erased"], result["cards_detached"]) == (False, 1)
    about = everything_about(customer_id)
    for value in (EMAIL, NAME, TAX_ID, "Ana's lead", "moved abroad"):
        assert value not in about, value
    customer = Customer.objects.get(pk=customer_id)
    assert (customer.name, customer.tax_id, customer.metadata, customer.currency) == ("", "", {}, "BRL")
    assert customer.erased_at == now()
    assert recipient_problem(customer.email)  # no mail can go to it
    assert not Message.objects.filter(customer_id=customer_id, html__contains="Ana").exists()
    assert MarketingConsent.objects.get(customer_id=customer_id).status == MarketingConsent.Status.REVOKED
    assert PaymentMethod.objects.get(customer_id=customer_id).detached_at is not None  # detached at the gateway too
    assert money() == before  # invoices keep their numbers, totals and lines
    assert run_checks()["ok"], run_checks()
    erased = Event.objects.get(type="customer.erased")
    assert (erased.customer_id, erased.data) == (customer_id, {})
    # The webhook payloads are built from the events: the API's event view shows what they carry.
    public = api.ok("GET", "/events", {"limit": 100})
    assert EMAIL not in json.dumps(public) and NAME not in json.dumps(public)


def test_no_mail_goes_to_an_erased_customer(api, ana):
    from django.db import transaction

    from assina.notifications.outbox import Draft, queue

    api.ok("POST", f"/customers/{ana['id']}/erase")
    customer = Customer.objects.get(pk=int(ana["id"][4:]))
    with transaction.atomic():
        queue([Draft(key="after-erasure", template="welcome", customer=customer, due_at=now())], now())
    message = Message.objects.get(key="after-erasure")
    assert message.status == Message.Status.INVALID and message.next_attempt_at is None
    assert not Message.objects.filter(customer=customer, status=Message.Status.QUEUED).exists()


def test_erasing_twice_changes_nothing(api, ana):
    api.ok("POST", f"/customers/{ana['id']}/erase")
    snapshot = everything_about(int(ana["id"][4:])), Event.objects.count()
    again = api.ok("POST", f"/customers/{ana['id']}/erase")
    assert again["already_erased"] is True and again["cards_detached"] == 0
    assert (everything_about(int(ana["id"][4:])), Event.objects.count()) == snapshot


def test_erasure_is_refused_while_a_subscription_can_bill_the_customer(api):
    start_clock(utc(2027, 1, 31, 10))
    api.ok("POST", "/plans", {"code": "pro", "name": "Pro", "amount": 4990, "currency": "BRL", "interval": "month"})
    bia = api.ok("POST", "/customers", {"email": "bia@example.com", "name": "Bia", "payment_method_token": GOOD_CARD})
    sub = api.ok("POST", "/subscriptions", {"customer": bia["id"], "plan": "pro"})
    before = everything_about(int(bia["id"][4:])), Event.objects.count(), money()
    body = problem(api.post(f"/customers/{bia['id']}/erase"), 409, "erasure_refused")
    assert sub["id"] in body["detail"]
    assert (everything_about(int(bia["id"][4:])), Event.objects.count(), money()) == before
    assert PaymentMethod.objects.get(customer_id=int(bia["id"][4:])).detached_at is None
