"""Personal data from the admin and the CLI (issue 14): the admin's erase action asks first (the
first post only shows a confirmation page, nothing changes), then erases; `assina customer export`
and `assina customer erase` do the same from a shell, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from assina.clock.services import freeze_clock
from assina.customers.models import Customer
from assina.events.models import Event
from assina.payments.new_customer import create_customer
from assina.time import now


@pytest.fixture
def admin_user(django_user_model):
    user = django_user_model(username="admin", email="admin@example.com", is_staff=True, is_superuser=True)
    user.set_unusable_password()
    user.save()
    return user


@pytest.mark.django_db
def test_admin_erase_action_confirms_then_erases(admin_client):
    freeze_clock(datetime(2027, 1, 10, 12, 0, tzinfo=UTC))
    ana = create_customer(email="ana@example.com", name="Ana Souza", at=now(), currency="BRL", card="4242424242424242")
    url = reverse("admin:customers_customer_changelist")
    selected = {"action": "erase_personal_data", "_selected_action": [ana.pk]}

    page = admin_client.post(url, selected)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Erase these customers' personal data?" in html and "Ana Souza" in html
    assert Customer.objects.get(pk=ana.pk).erased_at is None  # asking changed nothing

    done = admin_client.post(url, {**selected, "confirm": "yes"}, follow=True)
    assert "1 customer&#x27;s personal data erased." in done.content.decode()
    ana.refresh_from_db()
    assert (ana.name, ana.erased_at) == ("", now()) and "ana@example.com" not in ana.email
    assert Event.objects.filter(type="customer.erased", customer_id=ana.pk).count() == 1


@pytest.mark.django_db
def test_admin_erase_page_in_portuguese(admin_client):
    freeze_clock(datetime(2027, 1, 10, 12, 0, tzinfo=UTC))
    ana = create_customer(email="ana@example.com", name="Ana", at=now(), currency="BRL")
    page = admin_client.post(reverse("admin:customers_customer_changelist"),
                             {"action": "erase_personal_data", "_selected_action": [ana.pk]}, HTTP_ACCEPT_LANGUAGE="pt-br")
    assert "Apagar os dados pessoais destes clientes?" in page.content.decode()


def test_cli_exports_and_erases_a_customer(assina_in_process):
    assina = assina_in_process  # the CLI's main in this process, on the test database
    assina.ok("plan", "create", "--code", "pro", "--name", "Pro", "--amount", "49.90", "--currency", "BRL",
              "--interval", "month")
    assina.ok("customer", "create", "--email", "ana@example.com", "--name", "Ana Souza", "--tax-id", "123",
              "--card", "4242424242424242")
    sub = assina.ok("subscription", "create", "--customer", "ana@example.com", "--plan", "pro")
    export = assina.ok("customer", "export", "ana@example.com")
    assert export["customer"]["name"] == "Ana Souza" and export["payment_methods"][0]["last4"] == "4242"
    assert [i["number"] for i in export["invoices"]] == [assina.invoices()[0]["number"]]

    assina.refused("customer", "erase", "ana@example.com", words=(sub["id"], "cancel it"))
    assina.ok("subscription", "cancel", sub["id"], "--now")
    invoices = assina.invoices()
    erased = assina.ok("customer", "erase", "ana@example.com")
    assert (erased["already_erased"], erased["cards_detached"]) == (False, 1)
    assert assina.ok("customer", "erase", export["customer"]["id"][4:])["already_erased"] is True
    after = assina.ok("customer", "export", export["customer"]["id"][4:])
    assert (after["customer"]["name"], after["customer"]["tax_id"]) == ("", "")
    assert "Ana Souza" not in str(after) and "ana@example.com" not in str(after)
    # Numbers and amounts as they were; only the customer's email shown beside them is replaced.
    assert [{**i, "customer": None} for i in assina.invoices()] == [{**i, "customer": None} for i in invoices]
    assert assina.ok("check")["ok"] is True
