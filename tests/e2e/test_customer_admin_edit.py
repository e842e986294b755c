"""The customer admin's edit form goes through the customers service (issue 14): a country that is
not an ISO 3166 code is refused with the service's message and nothing changes, like the add form."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from assina.clock.services import freeze_clock
from assina.customers.models import Customer
from assina.events.models import Event
from assina.payments.new_customer import create_customer
from assina.time import now



class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") and attrs.get("type") not in ("submit", "checkbox"):
            self.values.setdefault(attrs["name"], attrs.get("value") or "")


def form_inputs(client, url: str) -> dict[str, str]:
    """The inputs a browser would send back from the page (hidden inline management forms too)."""
    parser = _Inputs()
    parser.feed(client.get(url).content.decode())
    parser.values.pop("csrfmiddlewaretoken", None)
    return parser.values


@pytest.fixture
def admin_user(django_user_model):
    user = django_user_model(username="admin", email="admin@example.com", is_staff=True, is_superuser=True)
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def ana():
    freeze_clock(datetime(2027, 1, 10, 12, 0, tzinfo=UTC))
    return create_customer(email="ana@example.com", name="Ana", at=now(), currency="BRL", country="BR")


@pytest.mark.django_db
@pytest.mark.parametrize("country", ["Z1", "XX", "1"])
def test_edit_form_refuses_a_country_that_is_not_iso_3166(admin_client, ana, country):
    url = reverse("admin:customers_customer_change", args=[ana.pk])
    data = {**form_inputs(admin_client, url), "name": "Ana Souza", "locale": "en", "country": country, "tax_id": ""}
    response = admin_client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert "is not an ISO 3166 country code" in response.content.decode()
    ana.refresh_from_db()
    assert (ana.name, ana.country) == ("Ana", "BR")
    assert not Event.objects.filter(type="customer.updated").exists()


@pytest.mark.django_db
def test_edit_form_saves_through_the_service_normalising_the_country(admin_client, ana):
    url = reverse("admin:customers_customer_change", args=[ana.pk])
    data = {**form_inputs(admin_client, url), "name": "Ana Souza", "locale": "pt-BR", "country": "pt", "tax_id": ""}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    ana.refresh_from_db()
    assert (ana.name, ana.locale, ana.country) == ("Ana Souza", "pt-BR", "PT")
    # The service's event names the changed fields and carries no personal data.
    event = Event.objects.get(type="customer.updated", subject_id=ana.pk)
    assert event.data == {"changed": ["country", "locale", "name"]}
