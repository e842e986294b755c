from hypothesis import given
from hypothesis import strategies as st

from assina.core.credit import credit_note_effect, credit_on_issue, spend_balance

amounts = st.integers(min_value=-10**9, max_value=10**9)


def test_a_balance_pays_what_it_can() -> None:
    assert spend_balance(1000, 4990) == (1000, 3990, False)
    assert spend_balance(4990, 4990) == (4990, 0, True)
    assert spend_balance(9000, 4990) == (4990, 0, True)


def test_no_balance_or_nothing_to_pay_spends_nothing() -> None:
    assert spend_balance(0, 4990) == (0, 4990, False)
    assert spend_balance(-100, 4990) == (0, 4990, False)
    assert spend_balance(1000, 0) == (0, 0, False)


@given(amounts, amounts)
def test_spending_moves_money_without_creating_any(balance: int, due: int) -> None:
    used, left, settled = spend_balance(balance, due)
    assert used >= 0 and used + left == due
    assert used <= max(balance, 0)
    assert settled == (used > 0 and left == 0)


def test_issuing_uses_the_balance_first() -> None:
    assert credit_on_issue(4990, 0) == (0, 4990, 0)
    assert credit_on_issue(4990, 1000) == (1000, 3990, 1000)
    assert credit_on_issue(4990, 9000) == (4990, 0, 4990)
    assert credit_on_issue(0, 9000) == (0, 0, 0)


def test_a_negative_invoice_gives_its_amount_to_the_balance() -> None:
    # A downgrade's credit: nothing to pay; the balance grows by 1500 (a negative take).
    assert credit_on_issue(-1500, 0) == (0, 0, -1500)
    assert credit_on_issue(-1500, 700) == (0, 0, -1500)


@given(amounts, st.integers(min_value=0, max_value=10**9))
def test_issuing_keeps_the_sums(total: int, balance: int) -> None:
    credit, due, taken = credit_on_issue(total, balance)
    assert due >= 0 and credit >= 0
    assert balance - taken >= 0  # a balance never goes negative
    if total >= 0:
        assert credit + due == total and taken == credit
    else:
        assert (credit, due, taken) == (0, 0, total)


def test_a_credit_note_on_an_open_invoice_asks_for_less() -> None:
    assert credit_note_effect(1000, 4990, True) == (1000, 3990, False, 0)
    assert credit_note_effect(4990, 4990, True) == (4990, 0, True, 0)
    # More than is due: the rest goes to the balance.
    assert credit_note_effect(6000, 4990, True) == (4990, 0, True, 1010)


def test_a_credit_note_on_a_paid_invoice_is_all_balance() -> None:
    assert credit_note_effect(1000, 0, False) == (0, 0, False, 1000)


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=10**9), st.booleans())
def test_a_credit_note_gives_exactly_its_amount(amount: int, due: int, is_open: bool) -> None:
    reduced, left, settled, to_balance = credit_note_effect(amount, due, is_open)
    assert reduced + to_balance == amount
    assert reduced + left == due
    assert settled == (is_open and left == 0)
