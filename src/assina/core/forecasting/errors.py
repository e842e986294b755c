"""Why a model could not be fitted or asked: English templates, translated at the edges
(``assina.i18n.localized_message``; the analytics catalog holds their Portuguese)."""

from __future__ import annotations

from ..errors import N_, DomainError


class ForecastError(DomainError):
    """Data a model cannot be fitted to, or a question it cannot answer."""


# Every template raised in this package, so the app that shows them can check it translates each.
MESSAGES = (
    N_("the survivor counts must cover at least two periods (three numbers: the cohort's size and two periods)"),
    N_("the survivor counts must be whole numbers of at least 0"),
    N_("the cohort must start with at least one customer"),
    N_("the survivor counts cannot grow: period %(period)s has more customers than the period before"),
    N_("nobody left in any period: the model needs some customers who churned"),
    N_("everybody left in the first period: the model needs some customers who stayed"),
    N_("the retention model could not be fitted to these counts"),
    N_("%(what)s must be a number, not %(value)s"),
    N_("%(what)s cannot be negative"),
    N_("%(what)s must be a whole number"),
    N_("recency cannot be greater than T (the customer's age)"),
    N_("a customer without repeat purchases must have a recency of 0"),
    N_("T (the customer's age) must be more than 0"),
    N_("no customer made a repeat purchase: the purchase model needs some who did"),
    N_("the purchase model could not be fitted to this data"),
    N_("the monetary value of a customer with repeat purchases must be more than 0"),
    N_("the order value model needs at least two customers with repeat purchases"),
    N_("the order value model could not be fitted: the order values vary too little or too much"),
    N_("the discount rate must be from 0 to 1"),
    N_("the horizon must be from 1 to %(maximum)s periods"),
    N_("there are no customers in the data"),
    N_("the columns frequency, recency, T and monetary_value must have the same length"),
)
