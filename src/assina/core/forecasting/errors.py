"""Why a model could not be fitted or asked: English templates, translated at the edges by
``assina.i18n.localized_message``.

The app that shows them (analytics) keeps their Portuguese in its own catalog: it lists every
template of ``MESSAGES`` in ``assina.analytics.forecast_words`` (tests/unit/test_forecast_words.py
holds the two lists equal and checks every ``ForecastError`` raised here uses one of them)."""

from __future__ import annotations

from ..errors import DomainError


class ForecastError(DomainError):
    """Data a model cannot be fitted to, or a question it cannot answer."""


# Every template raised in this package.
MESSAGES = (
    "the survivor counts must cover at least two periods (three numbers: the cohort's size and two periods)",
    "the survivor counts must be whole numbers of at least 0",
    "the cohort must start with at least one customer",
    "the survivor counts cannot grow: period %(period)s has more customers than the period before",
    "nobody left in any period: the model needs some customers who churned",
    "everybody left in the first period: the model needs some customers who stayed",
    "the retention model could not be fitted to these counts",
    "%(what)s must be a number, not %(value)s",
    "%(what)s cannot be negative",
    "%(what)s must be a whole number",
    "recency cannot be greater than T (the customer's age)",
    "a customer without repeat purchases must have a recency of 0",
    "T (the customer's age) must be more than 0",
    "no customer made a repeat purchase: the purchase model needs some who did",
    "the purchase model could not be fitted to this data",
    "the monetary value of a customer with repeat purchases must be more than 0",
    "the order value model needs at least two customers with repeat purchases",
    "the order value model could not be fitted: the order values vary too little or too much",
    "the discount rate must be from 0 to 1",
    "the horizon must be from 1 to %(maximum)s periods",
    "there are no customers in the data",
    "the columns frequency, recency, T and monetary_value must have the same length",
)
