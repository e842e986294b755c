"""The services the API (and every other caller) uses to update a customer and to detach a card:
validation before anything is written, the event in the same transaction, nothing twice."""

import pytest
from django.db import transaction
from factories import GOOD_CARD, counts, make_customer, make_plan, real_transactions, reload, start_clock, subscribe, utc

from assina.time import now
from assina.customers.services import CustomerError, update_customer
from assina.events.models import Event
from assina.payments import methods
from assina.payments.methods import PaymentMethodDetached

pytestmark = real_transactions


def _updates(customer) -> list[dict]:
    return list(Event.objects.filter(type="customer.updated", customer_id=customer.pk).values_list("data", flat=True))


def test_update_changes_the_given_fields_normalized_and_records_one_event():
    start_clock(utc(2027, 1, 10, 9))
    customer = make_customer(email="ana@example.com")
    updated = update_customer(customer.pk, {"email": "  ana.souza@example.com ", "locale": "pt_br", "country": "br",
                                            "time_zone": "America/Sao_Paulo", "name": None, "metadata": {"crm": "42"}},
                              at=now())
    row = reload(customer)
    assert (row.email, row.locale, row.country, row.time_zone, row.metadata) == (
        "ana.souza@example.com", "pt-BR", "BR", "America/Sao_Paulo", {"crm": "42"})
    assert updated.email == row.email and row.name == customer.name  # None leaves a field as it is
    assert _updates(customer) == [{"changed": ["country", "email", "locale", "metadata", "time_zone"]}]
    event = Event.objects.get(type="customer.updated", customer_id=customer.pk)
    assert event.occurred_at == now()

    update_customer(customer.pk, {"email": "ana.souza@example.com", "country": "BR"}, at=now())  # same values
    assert len(_updates(customer)) == 1


@pytest.mark.parametrize("changes, message", [
    ({"email": "not-an-email"}, "not a valid email address"),
    ({"locale": "fr"}, "unsupported locale"),
    ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
    ({"name": "New name", "time_zone": "../../etc/passwd"}, "unknown time zone"),
    ({"email": "taken@example.com"}, "already exists"),
    ({"email": "TAKEN@example.com", "name": "x"}, "already exists"),
])
def test_bad_values_are_refused_and_change_nothing(changes, message):
    start_clock(utc(2027, 1, 10, 9))
    make_customer(email="taken@example.com")
    customer = make_customer(email="bruno@example.com", name="Bruno")
    before = counts()
    with pytest.raises(CustomerError, match=message):
        update_customer(customer.pk, changes, at=now())
    assert counts() == before and _updates(customer) == []
    row = reload(customer)
    assert (row.email, row.name, row.time_zone) == ("bruno@example.com", "Bruno", customer.time_zone)


def test_unknown_customer_and_fields_outside_the_update_are_refused():
    start_clock(utc(2027, 1, 10, 9))
    customer = make_customer()
    with pytest.raises(CustomerError, match="unknown customer"):
        update_customer(999999, {"name": "x"}, at=now())
    with pytest.raises(TypeError, match="currency"):
        update_customer(customer.pk, {"currency": "USD"}, at=now())  # its subscriptions bill in it
    with pytest.raises(TypeError, match="credit_balance"):
        update_customer(customer.pk, {"credit_balance": 10_000}, at=now())
    row = reload(customer)
    assert (row.currency, row.credit_balance) == ("BRL", 0)


def test_the_event_is_part_of_the_update_transaction():
    start_clock(utc(2027, 1, 10, 9))
    customer = make_customer(name="Carla")
    with pytest.raises(RuntimeError), transaction.atomic():
        update_customer(customer.pk, {"name": "Carla Dias"}, at=now())
        raise RuntimeError("the caller's transaction fails afterwards")
    assert reload(customer).name == "Carla" and _updates(customer) == []


def test_detaching_the_default_card_moves_the_default_and_frees_the_subscriptions():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer(card=None)
    first = methods.add_card(customer, GOOD_CARD, now())
    second = methods.add_card(customer, "5555555555554444", now(), make_default=False)
    sub = subscribe(customer, "pro")
    sub.payment_method = first
    sub.save(update_fields=["payment_method"])

    methods.remove(customer, first.pk, now())
    assert reload(first).detached_at == now()
    assert reload(customer).default_payment_method_id == second.pk  # the newest remaining card
    assert reload(sub).payment_method_id is None  # falls back to the customer's default
    assert Event.objects.filter(type="payment_method.detached", subject_id=first.pk).count() == 1

    before = counts()
    with pytest.raises(PaymentMethodDetached) as refused:
        methods.remove(customer, first.pk, now())
    assert (refused.value.status, refused.value.code) == (409, "payment_method_detached")
    assert counts() == before
    assert Event.objects.filter(type="payment_method.detached", subject_id=first.pk).count() == 1

    methods.remove(customer, second.pk, now())
    assert reload(customer).default_payment_method_id is None


def test_a_detach_that_lost_a_race_changes_nothing(monkeypatch):
    """Two requests read the card as attached; the second to take the row lock finds it detached."""
    start_clock(utc(2027, 1, 10, 9))
    customer = make_customer()
    card = reload(customer).default_payment_method
    stale = methods.method_of(customer, card.pk)
    methods.remove(customer, card.pk, now())
    monkeypatch.setattr(methods, "method_of", lambda *args, **kwargs: stale)  # the check ran before the first detach
    before = counts()
    with pytest.raises(PaymentMethodDetached):
        methods.remove(customer, card.pk, now())
    assert counts() == before
    assert Event.objects.filter(type="payment_method.detached", subject_id=card.pk).count() == 1
