import pytest

from assina.core.errors import IllegalTransition
from assina.core.invoice_states import InvoiceStatus, can_transition_invoice, transition_invoice
from assina.core.states import ALLOWED, SubscriptionStatus, can_transition, has_access, transition

S = SubscriptionStatus
I = InvoiceStatus  # noqa: E741

LEGAL = {
    (S.INCOMPLETE, S.ACTIVE), (S.INCOMPLETE, S.CANCELED),
    (S.TRIALING, S.ACTIVE), (S.TRIALING, S.PAST_DUE), (S.TRIALING, S.PAUSED),
    (S.TRIALING, S.CANCELED), (S.TRIALING, S.INCOMPLETE),
    (S.ACTIVE, S.PAST_DUE), (S.ACTIVE, S.PAUSED), (S.ACTIVE, S.CANCELED),
    (S.PAST_DUE, S.ACTIVE), (S.PAST_DUE, S.UNPAID), (S.PAST_DUE, S.PAUSED), (S.PAST_DUE, S.CANCELED),
    (S.UNPAID, S.ACTIVE), (S.UNPAID, S.PAUSED), (S.UNPAID, S.CANCELED),
    (S.PAUSED, S.ACTIVE), (S.PAUSED, S.CANCELED),
}  # fmt: skip


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_subscription_transitions_follow_the_table(source: S, target: S) -> None:
    if (source, target) in LEGAL:
        assert transition(source, target) is target
        assert can_transition(source, target)
    else:
        with pytest.raises(IllegalTransition):
            transition(source, target)
        assert not can_transition(source, target)


def test_canceled_is_terminal_with_a_readable_message() -> None:
    assert ALLOWED[S.CANCELED] == frozenset()
    message = "cannot move a subscription from canceled to active"
    with pytest.raises(IllegalTransition, match=message):
        transition("canceled", "active")


def test_unknown_status_is_rejected() -> None:
    with pytest.raises(IllegalTransition):
        transition("active", "frozen")


def test_access_while_trialing_active_or_past_due_only() -> None:
    assert {s for s in S if has_access(s)} == {S.TRIALING, S.ACTIVE, S.PAST_DUE}


INVOICE_LEGAL = {
    (I.DRAFT, I.OPEN), (I.DRAFT, I.VOID),
    (I.OPEN, I.PAID), (I.OPEN, I.VOID), (I.OPEN, I.UNCOLLECTIBLE),
    (I.UNCOLLECTIBLE, I.PAID), (I.UNCOLLECTIBLE, I.VOID),
}  # fmt: skip


@pytest.mark.parametrize("source", list(I))
@pytest.mark.parametrize("target", list(I))
def test_invoice_transitions_follow_the_table(source: I, target: I) -> None:
    if (source, target) in INVOICE_LEGAL:
        assert transition_invoice(source, target) is target
        assert can_transition_invoice(source, target)
    else:
        with pytest.raises(IllegalTransition):
            transition_invoice(source, target)


def test_invoice_status_values_are_lower_case() -> None:
    assert [s.value for s in I] == ["draft", "open", "paid", "void", "uncollectible"]
    with pytest.raises(IllegalTransition, match="from paid to void"):
        transition_invoice("paid", "void")
