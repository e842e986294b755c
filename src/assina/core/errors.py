"""Domain errors. Messages are user-facing English sentences.

``DomainError`` subclasses ``ValueError`` so code that already treats bad input as a
``ValueError`` (forms, API schemas) keeps working without knowing about this module.
"""

from __future__ import annotations


class DomainError(ValueError):
    """Base of every error raised by ``assina.core`` because a business rule said no."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class CurrencyMismatch(DomainError):
    """Two amounts in different currencies were combined."""


class UnknownCurrency(DomainError):
    """A currency code that is not an active ISO 4217 currency."""


class InvalidAmount(DomainError):
    """An amount that is not a valid number of minor units (or bad user input)."""


class InvalidInterval(DomainError):
    """A billing interval unit or count that is not supported."""


class InvalidPrice(DomainError):
    """A price definition that cannot be billed (bad tiers, negative amounts...)."""


class InvalidCoupon(DomainError):
    """A coupon definition that is inconsistent (e.g. both percent and amount off)."""


class CouponNotApplicable(DomainError):
    """A valid coupon that cannot be redeemed here (expired, exhausted, wrong plan)."""


class IllegalTransition(DomainError):
    """A state change that the state machine does not allow."""
