"""Payment results of the billing run are applied from the invoices the batch wrote (not read
back): an attempt another worker resolved meanwhile is skipped, never applied twice; a pass
that bills a few subscriptions stops without asking again, yet catches up over several periods
in one call; invoice numbers stay gapless across years."""

from datetime import timedelta

from factories import invoices_of, make_customer, make_plan, real_transactions, reload, start_clock, subscribe, utc
from payments_support import assert_no_violations, attempts_of, card_fails

from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.payments import services as payments
from assina.payments.models import PaymentAttempt
from assina.subscriptions import due_work
from assina.subscriptions.due_work import process_due_work

pytestmark = real_transactions


def _renew_without_collecting(monkeypatch, until):
    """Run the billing pass but keep its charges (the worker 'stops' after writing the attempts)."""
    kept = []
    monkeypatch.setattr(due_work, "collect", lambda charges, at=None: kept.extend(charges))
    process_due_work(until)
    monkeypatch.undo()
    return kept


def _paid_events(invoice):
    return Event.objects.filter(type="invoice.paid", subject_type="invoice", subject_id=invoice.pk).count()


def test_results_another_worker_applied_are_not_applied_again_from_the_written_invoices(monkeypatch):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    paying, declining = make_customer(), make_customer()
    subs = [subscribe(paying, "pro"), subscribe(declining, "pro")]
    card_fails(declining, utc(2027, 2, 1), "insufficient_funds")
    charges = _renew_without_collecting(monkeypatch, utc(2027, 2, 10, 10))
    assert len(charges) == 2 and all(c.invoice is not None for c in charges)
    assert PaymentAttempt.objects.filter(status="pending").count() == 2
    # Another worker reconciles the pending attempts first (charges them with their keys).
    payments.reconcile_pending()
    assert not PaymentAttempt.objects.filter(status="pending").exists()
    # The first worker comes back with its charges: the gateway answers from its keys and the
    # results find no pending attempt, so nothing is applied a second time.
    payments.collect(charges)
    paid, declined = (invoices_of(s)[-1] for s in subs)
    assert (paid.status, paid.amount_paid, _paid_events(paid)) == ("paid", 4990, 1)
    assert (declined.status, declined.amount_paid, _paid_events(declined)) == ("open", 0, 0)
    assert [a[:2] for a in attempts_of(paid)] == [(1, "succeeded")]
    assert [a[:2] for a in attempts_of(declined)] == [(1, "failed")]
    assert Event.objects.filter(type="payment.failed").count() == 1
    assert reload(subs[1]).status == "past_due"
    assert_no_violations()


def test_only_the_attempts_still_pending_are_applied_from_the_written_invoices(monkeypatch):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customers = [make_customer() for _ in range(3)]
    subs = [subscribe(c, "pro") for c in customers]
    charges = _renew_without_collecting(monkeypatch, utc(2027, 2, 10, 10))
    assert len(charges) == 3
    # One of them is resolved by another worker (through the path that reads the rows).
    payments.collect([charges[1]._replace(invoice=None)])
    payments.collect(charges)
    for sub in subs:
        renewal = invoices_of(sub)[-1]
        assert (renewal.status, renewal.amount_paid, _paid_events(renewal)) == ("paid", 4990, 1)
        assert [a[:2] for a in attempts_of(renewal)] == [(1, "succeeded")]
    assert_no_violations()


def test_the_paid_event_of_a_written_invoice_reads_as_one_read_back_would():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    sub = subscribe(make_customer(), "pro")
    process_due_work(utc(2027, 2, 10, 10))
    renewal = invoices_of(sub)[-1]
    data = Event.objects.get(type="invoice.paid", subject_id=renewal.pk).data
    assert data["period_start"] == renewal.period_start.isoformat() == "2027-02-10T09:00:00+00:00"
    assert (data["number"], data["total"], data["payment"]["attempt"]) == (renewal.number, 4990, 1)


def test_one_call_catches_up_over_several_periods_in_date_order():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    make_plan("weekly", 990, interval="week")
    monthly, weekly = subscribe(make_customer(), "pro"), subscribe(make_customer(), "weekly")
    summary = process_due_work(utc(2027, 4, 11))
    assert summary["renewals"] == 3 + 12  # monthly: Feb, Mar, Apr 10; weekly: Jan 17 .. Apr 4
    starts = [i.period_start for i in invoices_of(monthly)]
    assert starts == [utc(2027, 1, 10, 9), utc(2027, 2, 10, 9), utc(2027, 3, 10, 9), utc(2027, 4, 10, 9)]
    assert len(invoices_of(weekly)) == 13
    # Numbers follow the dates across both subscriptions.
    issued = list(Invoice.objects.filter(billing_reason="subscription_cycle").order_by("number")
                  .values_list("period_start", flat=True))
    assert issued == sorted(issued)
    assert reload(monthly).next_action_at == utc(2027, 5, 10, 9)
    assert reload(weekly).next_action_at > utc(2027, 4, 11)
    assert process_due_work(utc(2027, 4, 11)) == {"reconciled_attempts": 0}
    assert_no_violations()


def test_invoice_numbers_start_a_new_sequence_each_year_without_gaps():
    start_clock(utc(2027, 11, 10, 9))
    make_plan("pro", 4990)
    sub = subscribe(make_customer(), "pro")
    process_due_work(utc(2028, 2, 11))
    numbers = [i.number for i in invoices_of(sub)]
    assert numbers == ["2027-000001", "2027-000002", "2028-000001", "2028-000002"]
    assert reload(sub).next_action_at == utc(2028, 3, 10, 9)
    assert timedelta(0) < reload(sub).next_action_at - utc(2028, 2, 11)
