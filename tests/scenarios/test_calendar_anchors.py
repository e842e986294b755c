"""Periods come from the anchor, never from adding a month to the previous boundary:
a Jan 31 anchor bills Feb 28 (Feb 29 in a leap year), then Mar 31 again; a Feb 29 annual
anchor renews on Feb 28 and comes back to Feb 29 in the next leap year."""

from collections import defaultdict

import pytest
from factories import (
    advance,
    assert_all_invoices_sum,
    event_types,
    invoices_of,
    lines_of,
    make_customer,
    make_plan,
    real_transactions,
    reload,
    start_clock,
    subscribe,
    utc,
)

from assina.invoices.models import Invoice
from assina.payments.services import attach_card

pytestmark = real_transactions

# The last day of each month at 10:00 UTC from Jan 2027 to Jan 2030, by hand.
MONTH_ENDS_2027_2030 = [
    utc(2027, 1, 31, 10), utc(2027, 2, 28, 10), utc(2027, 3, 31, 10), utc(2027, 4, 30, 10),
    utc(2027, 5, 31, 10), utc(2027, 6, 30, 10), utc(2027, 7, 31, 10), utc(2027, 8, 31, 10),
    utc(2027, 9, 30, 10), utc(2027, 10, 31, 10), utc(2027, 11, 30, 10), utc(2027, 12, 31, 10),
    utc(2028, 1, 31, 10), utc(2028, 2, 29, 10), utc(2028, 3, 31, 10), utc(2028, 4, 30, 10),
    utc(2028, 5, 31, 10), utc(2028, 6, 30, 10), utc(2028, 7, 31, 10), utc(2028, 8, 31, 10),
    utc(2028, 9, 30, 10), utc(2028, 10, 31, 10), utc(2028, 11, 30, 10), utc(2028, 12, 31, 10),
    utc(2029, 1, 31, 10), utc(2029, 2, 28, 10), utc(2029, 3, 31, 10), utc(2029, 4, 30, 10),
    utc(2029, 5, 31, 10), utc(2029, 6, 30, 10), utc(2029, 7, 31, 10), utc(2029, 8, 31, 10),
    utc(2029, 9, 30, 10), utc(2029, 10, 31, 10), utc(2029, 11, 30, 10), utc(2029, 12, 31, 10),
    utc(2030, 1, 31, 10), utc(2030, 2, 28, 10),
]


@pytest.mark.slow
def test_jan_31_anchor_bills_month_ends_for_three_years_with_gapless_numbers_per_year():
    start_clock(utc(2027, 1, 31, 10))
    make_plan("monthly", 4990)
    customer = make_customer()
    sub = subscribe(customer, "monthly")
    assert sub.status == "active"

    summary = advance(utc(2030, 1, 31, 10))

    assert summary["renewals"] == 36
    invoices = invoices_of(sub)
    assert len(invoices) == 37  # the first one plus 36 renewals
    starts = [i.period_start for i in invoices]
    ends = [i.period_end for i in invoices]
    assert starts == MONTH_ENDS_2027_2030[:37]
    assert ends == MONTH_ENDS_2027_2030[1:38]
    # Contiguous: each period starts exactly where the previous one ended (no gap, no overlap).
    assert all(ends[k] == starts[k + 1] for k in range(len(invoices) - 1))
    assert utc(2028, 2, 29, 10) in starts and utc(2029, 2, 28, 10) in starts
    # Each invoice is issued when its period starts, bills the price once and is paid.
    for invoice in invoices:
        assert invoice.created_at == invoice.period_start
        assert invoice.status == "paid"
        assert (invoice.total, invoice.amount_due, invoice.amount_paid) == (4990, 4990, 4990)
        assert lines_of(invoice) == [("subscription", 4990)]
    assert [i.billing_reason for i in invoices] == ["subscription_create"] + ["subscription_cycle"] * 36

    numbers = defaultdict(list)
    for invoice in invoices:
        year, sequence = invoice.number.split("-")
        assert int(year) == invoice.created_at.year
        numbers[year].append(int(sequence))
    assert dict(numbers) == {"2027": list(range(1, 13)), "2028": list(range(1, 13)),
                             "2029": list(range(1, 13)), "2030": [1]}
    assert invoices[0].number == "2027-000001" and invoices[12].number == "2028-000001"

    sub = reload(sub)
    assert (sub.status, sub.current_period_start, sub.current_period_end) == (
        "active", utc(2030, 1, 31, 10), utc(2030, 2, 28, 10))
    assert sub.next_action_at == utc(2030, 2, 28, 10)
    types = event_types(sub)
    assert types.count("invoice.created") == 37 and types.count("invoice.paid") == 37
    assert "payment.failed" not in types
    assert_all_invoices_sum()


@pytest.mark.slow
def test_feb_29_annual_anchor_renews_feb_28_and_returns_to_feb_29_in_the_next_leap_year():
    start_clock(utc(2028, 2, 29, 12))
    make_plan("yearly", 120000, interval="year")
    customer = make_customer()
    # The default test card expires after three years; this one lasts the whole scenario.
    attach_card(customer, "4242424242424242", utc(2028, 2, 29, 12), exp_month=12, exp_year=2040)
    sub = subscribe(customer, "yearly")

    advance(utc(2032, 2, 29, 12))

    invoices = invoices_of(sub)
    assert [(i.period_start, i.period_end) for i in invoices] == [
        (utc(2028, 2, 29, 12), utc(2029, 2, 28, 12)),
        (utc(2029, 2, 28, 12), utc(2030, 2, 28, 12)),
        (utc(2030, 2, 28, 12), utc(2031, 2, 28, 12)),
        (utc(2031, 2, 28, 12), utc(2032, 2, 29, 12)),
        (utc(2032, 2, 29, 12), utc(2033, 2, 28, 12)),
    ]
    assert [i.number for i in invoices] == ["2028-000001", "2029-000001", "2030-000001", "2031-000001", "2032-000001"]
    assert all(i.status == "paid" and i.total == 120000 for i in invoices)
    assert reload(sub).next_action_at == utc(2033, 2, 28, 12)
    assert Invoice.objects.count() == 5
    assert_all_invoices_sum()
