"""Helpers of the payments and dunning tests (imported as ``from payments_support import ...``)."""

from __future__ import annotations

from datetime import datetime

from assina.time import now
from assina.checks import run_checks
from assina.customers.models import Customer
from assina.payments.dunning import save_policy
from assina.payments.models import PaymentAttempt
from assina.payments.sandbox import schedule_card


def card_token(customer: Customer) -> str:
    return Customer.objects.select_related("default_payment_method").get(pk=customer.pk).default_payment_method.token


def card_fails(customer: Customer, at: datetime, code: str) -> None:
    """The customer's card starts declining with ``code`` at ``at``."""
    schedule_card(card_token(customer), at, code)


def card_recovers(customer: Customer, at: datetime) -> None:
    schedule_card(card_token(customer), at, "")


def policy(**changes) -> None:
    values = {"retry_days": "1,3,5,7,10,14", "hard_codes": "lost_card,stolen_card,fraudulent,do_not_honor,no_payment_method,expired_card",
              "soft_codes": "insufficient_funds,processing_error,card_declined", "grace_days": 7, "final_action": "cancel"}
    values.update(changes)
    save_policy(at=now(), **values)


def attempts_of(invoice) -> list[tuple]:
    return list(PaymentAttempt.objects.filter(invoice=invoice).order_by("number")
                .values_list("number", "status", "decline_code", "created_at"))


def assert_no_violations() -> None:
    result = run_checks()
    assert result["ok"], result["details"]
