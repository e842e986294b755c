import pytest

from assina.core.invoice_states import InvoiceStatus
from assina.core.payment_results import (
    FIRST_INVOICE_REASON, failure_enters_dunning, past_due_after_failure, reactivated_by_payment, success_pays,
)
from assina.core.states import SubscriptionStatus

S = SubscriptionStatus
I = InvoiceStatus  # noqa: E741


@pytest.mark.parametrize("status", list(I))
def test_a_success_pays_an_open_or_written_off_invoice(status: I) -> None:
    # Any other (void, paid meanwhile): the money goes to the customer's credit balance.
    assert success_pays(status.value) == (status in (I.OPEN, I.UNCOLLECTIBLE))


@pytest.mark.parametrize("status", list(I))
def test_only_an_open_invoice_enters_dunning(status: I) -> None:
    assert failure_enters_dunning(status.value, "subscription_cycle", True) == (status is I.OPEN)
    assert failure_enters_dunning(status.value, "manual", False) == (status is I.OPEN)


def test_the_first_invoice_of_a_subscription_is_not_retried() -> None:
    assert FIRST_INVOICE_REASON == "subscription_create"
    assert not failure_enters_dunning(I.OPEN.value, FIRST_INVOICE_REASON, True)
    # Without a subscription the reason means nothing special.
    assert failure_enters_dunning(I.OPEN.value, FIRST_INVOICE_REASON, False)


@pytest.mark.parametrize("status", list(S))
def test_a_subscription_waiting_for_a_payment_is_reactivated(status: S) -> None:
    assert reactivated_by_payment(status.value) == (status in (S.PAST_DUE, S.INCOMPLETE, S.UNPAID))


@pytest.mark.parametrize("status", list(S))
def test_a_failure_in_dunning_makes_an_active_or_trialing_subscription_past_due(status: S) -> None:
    assert past_due_after_failure(status.value, True) == (status in (S.ACTIVE, S.TRIALING))
    assert not past_due_after_failure(status.value, False)
