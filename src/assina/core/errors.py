"""Domain errors. Messages are user-facing English sentences, translated at the edges.

``DomainError`` subclasses ``ValueError`` so code that already treats bad input as a
``ValueError`` (forms, API schemas) keeps working without knowing about this module.

``assina.core`` must not import Django, so it cannot translate. Its errors carry an English
message *template* with named placeholders and the values to fill it with::

    raise InvalidAmount(N_("%(text)s is not a valid amount"), text=repr(text))

``str(err)`` is the English sentence (``template % params``); the admin and the CLI show
``assina.i18n.localized_message(err)``, which translates the template into the active language
before filling it. ``N_`` only marks the template for ``makemessages --keyword=N_``.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it (like ``gettext_noop``)."""
    return message


class DomainError(ValueError):
    """Base of every error raised by ``assina.core`` because a business rule said no.

    ``DomainError(template, **params)``: ``template`` is an English message, with
    ``%(name)s`` placeholders filled from ``params`` when there are any (a template without
    params is used as is, so a literal ``%`` needs no escaping). Callers outside the core may
    pass an already translated message and no params.
    """

    def __init__(self, template: str = "", /, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template % params if params else template)

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
