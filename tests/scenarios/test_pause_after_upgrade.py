"""A pause right after a mid-period upgrade whose proration was carried to the next invoice:
the report "a negative invoice (−R$30.97)". What the customer paid for, used and gets back,
computed by hand, against what the invoices, credit notes and credit balance say.

Pro 60.00 a month from 1 January 2027 (31 days), upgraded to Max 70.00 on 16 January 00:00
(16 days left). Every proration is amount × days left / 31, rounded half up, each part apart.

Found: the money is right in every case here (the customer ends up charged exactly the time
used at each price, to the rounding of each part). The negative invoice is the settlement of
the carried lines with the unused time: it asks for nothing and its total goes to the credit
balance, which pays the next invoice (or an unpaid one being retried) first.
"""

from factories import (
    advance,
    assert_all_invoices_sum,
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
from payments_support import card_fails

from assina.customers.models import BalanceTransaction
from assina.invoices.models import CreditNote, PendingItem
from assina.subscriptions import services
from assina.subscriptions.changes import change_subscription

pytestmark = real_transactions


def _upgraded(invoice_now: bool = False):
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 6000)
    make_plan("max", 7000)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    advance(utc(2027, 1, 16))
    change_subscription(sub.pk, plan_code="max", invoice_now=invoice_now)
    return customer, sub


def _paid(sub) -> int:
    return sum(i.amount_paid for i in invoices_of(sub))


def test_a_pause_at_the_upgrade_gives_back_exactly_the_unused_pro_time():
    customer, sub = _upgraded()
    # Carried: -3097 (6000 × 16/31 = 3096.77 unused Pro), +3613 (7000 × 16/31 = 3612.90 Max).
    assert sorted(PendingItem.objects.values_list("amount", flat=True)) == [-3097, 3613]
    services.pause(sub.pk)

    # Owed: 60.00 paid, 15 of 31 days of Pro used (2903.23), Max never used: 3096.77 → 3097 back.
    first, settlement = invoices_of(sub)
    assert (first.total, first.amount_paid) == (6000, 6000)
    # The settlement bills the carried lines and credits the unused Max time (7000 × 16/31):
    # -3097 + 3613 - 3613 = -3097, the report's −R$30.97. It asks for nothing; its negative
    # total is the customer's credit (a credit balance entry that names it), as Stripe does.
    assert lines_of(settlement) == [("proration", -3097), ("proration", 3613), ("proration", -3613)]
    assert (settlement.total, settlement.amount_due, settlement.amount_paid, settlement.status) == (-3097, 0, 0, "paid")
    assert list(BalanceTransaction.objects.values_list("kind", "amount", "invoice_id")) == [
        ("proration_credit", 3097, settlement.pk)]
    assert reload(customer).credit_balance == 3097
    assert not CreditNote.objects.exists()
    assert not PendingItem.objects.filter(invoice__isnull=True).exists()
    # Net: 6000 paid - 3097 credit = 2903 for 15 days of Pro (2903.23).
    assert _paid(sub) - reload(customer).credit_balance == 2903
    assert_all_invoices_sum()

    advance(utc(2027, 1, 20))
    services.resume(sub.pk)
    resumed = invoices_of(sub)[-1]
    # A new Max period from 20 January; the credit pays 30.97 of its 70.00.
    assert lines_of(resumed) == [("subscription", 7000)]
    assert (resumed.credit_applied, resumed.amount_due, resumed.amount_paid) == (3097, 3903, 3903)
    assert reload(customer).credit_balance == 0


def test_a_pause_days_after_the_upgrade_charges_the_max_days_used():
    customer, sub = _upgraded()
    advance(utc(2027, 1, 20))  # 4 days of Max used, 12 left
    services.pause(sub.pk)
    # Owed back: 6000 - (15 days Pro 2903.23 + 4 days Max 903.23) = 2193.55. Billed: carried
    # -3097 + 3613 and the unused Max time 7000 × 12/31 = 2709.68 → -2710: -2194.
    settlement = invoices_of(sub)[-1]
    assert lines_of(settlement) == [("proration", -3097), ("proration", 3613), ("proration", -2710)]
    assert (settlement.total, settlement.amount_due) == (-2194, 0)
    assert reload(customer).credit_balance == 2194
    assert _paid(sub) - reload(customer).credit_balance == 3806
    assert_all_invoices_sum()


def test_with_the_upgrade_invoiced_at_once_the_same_money_takes_a_credit_note():
    customer, sub = _upgraded(invoice_now=True)
    first, upgrade = invoices_of(sub)
    assert (upgrade.total, upgrade.amount_paid) == (516, 516)  # -3097 + 3613
    services.pause(sub.pk)
    # Nothing carried: the unused Max time (3613) is a credit note on January's paid invoice,
    # which goes to the balance; no invoice is issued for the pause.
    assert len(invoices_of(sub)) == 2
    assert list(CreditNote.objects.values_list("invoice_id", "amount")) == [(first.pk, 3613)]
    assert reload(customer).credit_balance == 3613
    # The same net as carried: 6000 + 516 - 3613 = 2903 for 15 days of Pro.
    assert _paid(sub) - reload(customer).credit_balance == 2903
    assert_all_invoices_sum()


def test_past_due_the_credit_pays_the_unpaid_period_and_only_the_time_used_is_left_owed():
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 6000)
    make_plan("max", 7000)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    card_fails(customer, utc(2027, 1, 25), "insufficient_funds")
    advance(utc(2027, 2, 8))  # February's renewal (6000) is unpaid; 21 of its 28 days are left
    assert reload(sub).status == "past_due"
    change_subscription(sub.pk, plan_code="max")  # carried: -4500 (6000 × 21/28), +5250 (7000 × 21/28)
    services.pause(sub.pk)
    _first, renewal, settlement = invoices_of(sub)
    assert lines_of(settlement) == [("proration", -4500), ("proration", 5250), ("proration", -5250)]
    assert (settlement.total, reload(customer).credit_balance) == (-4500, 4500)

    advance(utc(2027, 4, 1))  # the retries take the credit first; the card never recovers
    renewal.refresh_from_db()
    # 7 days of Pro used and never paid: 6000 × 7/28 = 1500 is what is left owed, written off.
    assert (renewal.status, renewal.amount_due, renewal.amount_paid) == ("uncollectible", 1500, 0)
    assert reload(customer).credit_balance == 0
    assert_all_invoices_sum()
