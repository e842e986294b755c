"""Pending usage events (SQLite): stored by a batch outside the index by customer, written there in
bulk a few batches later, and never missed by billing or by a lookup by customer meanwhile."""

import pytest
from factories import advance, invoices_of, make_customer, make_plan, real_transactions, start_clock, subscribe, utc
from usage_support import send, usage, usage_api  # noqa: F401

from assina.invoices.models import InvoiceLine
from assina.usage import settle
from assina.usage.models import UsageEvent
from assina.usage.services import add_metered_price, create_metric


def _pending() -> dict[str, bool]:
    return dict(UsageEvent.objects.values_list("event_id", "pending"))


@pytest.mark.sqlite_only
@pytest.mark.django_db
def test_a_batch_stores_pending_events_and_settles_the_earlier_ones_once_enough_are_pending(monkeypatch):
    monkeypatch.setattr(settle, "ROWS", 3)
    start_clock(utc(2027, 1, 1))
    create_metric(code="calls", name="API calls")
    alice, bob = make_customer(), make_customer()
    send(usage("a1", alice, "calls", 1, utc(2027, 1, 1)), usage("b1", bob, "calls", 1, utc(2027, 1, 1)))
    assert _pending() == {"a1": True, "b1": True}
    send(usage("a2", alice, "calls", 1, utc(2027, 1, 1)))  # 3 pending now: the next batch settles first
    assert set(_pending().values()) == {True}
    send(usage("b2", bob, "calls", 1, utc(2027, 1, 1)), usage("a1", alice, "calls", 1, utc(2027, 1, 1)))  # a1: a duplicate
    assert _pending() == {"a1": False, "b1": False, "a2": False, "b2": True}
    send(usage("a3", alice, "calls", 1, utc(2027, 1, 1)))  # counted from the oldest pending event: b2
    assert _pending() == {"a1": False, "b1": False, "a2": False, "b2": True, "a3": True}


@pytest.mark.django_db
def test_listing_a_customers_usage_finds_pending_and_settled_events(usage_api):
    alice, bob = make_customer(), make_customer()
    body = {"events": [{"id": "old", "customer": f"cus_{alice.pk}", "metric": "calls", "timestamp": "2027-01-09T10:00:00Z"},
                       {"id": "other", "customer": f"cus_{bob.pk}", "metric": "calls", "timestamp": "2027-01-09T10:00:00Z"}]}
    assert usage_api.post("/usage/batch", body).status_code == 200
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settle, "ROWS", 0)  # the next batch settles the first one's events
        body = {"events": [{"id": "new", "customer": f"cus_{alice.pk}", "metric": "calls", "timestamp": "2027-01-09T11:00:00Z"}]}
        assert usage_api.post("/usage/batch", body).status_code == 200
    if settle.pending_on_insert():
        assert _pending() == {"old": False, "other": False, "new": True}
    listed = usage_api.get("/usage", {"customer": f"cus_{alice.pk}"}).json()["data"]
    assert [e["event_id"] for e in listed] == ["old", "new"]  # in the order they were received


@real_transactions
def test_pending_events_are_billed_at_the_period_end():
    start_clock(utc(2027, 1, 1))
    make_plan("api", 1000, name="API plan")
    create_metric(code="calls", name="API calls")
    add_metered_price(plan_code="api", metric_code="calls", unit_amount=5)
    customer = make_customer()
    sub = subscribe(customer, "api")
    advance(utc(2027, 1, 20))
    send(usage("a", customer, "calls", 100, utc(2027, 1, 5)), usage("b", customer, "calls", 20, utc(2027, 1, 19)))
    if settle.pending_on_insert():
        assert set(_pending().values()) == {True}  # nothing settles them before billing does
    advance(utc(2027, 2, 1))
    lines = list(InvoiceLine.objects.filter(invoice=invoices_of(sub)[-1]).order_by("id").values_list("item_code", "quantity", "amount"))
    assert lines[1] == ("calls", 120, 600)
    assert set(UsageEvent.objects.values_list("billed_subscription_id", "pending")) == {(sub.pk, False)}


@pytest.mark.django_db
def test_customers_with_usage_counts_pending_and_settled_events(monkeypatch):
    from assina.usage.services import customers_with_usage

    start_clock(utc(2027, 1, 1))
    create_metric(code="calls", name="API calls")
    create_metric(code="seats", name="Seats")
    alice, bob, carol, dave = (make_customer() for _ in range(4))
    send(usage("a", alice, "calls", 1, utc(2027, 1, 1)), usage("c", carol, "seats", 1, utc(2027, 1, 1)))
    monkeypatch.setattr(settle, "ROWS", 0)  # the next batch settles alice's and carol's events
    send(usage("b", bob, "calls", 1, utc(2027, 1, 1)))
    if settle.pending_on_insert():
        assert _pending() == {"a": False, "c": False, "b": True}
    everyone = [alice.pk, bob.pk, carol.pk, dave.pk]
    assert customers_with_usage(everyone) == {alice.pk, bob.pk, carol.pk}
    assert customers_with_usage(everyone, "calls") == {alice.pk, bob.pk}
    assert customers_with_usage([dave.pk]) == set() == customers_with_usage([])
