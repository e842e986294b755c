"""The Portuguese of the forecasting models' errors (``assina.core.forecasting.errors``) lives in
this app's catalog: the core cannot translate, and these are the messages the forecasts show.
Each is marked here so ``tools/messages analytics`` extracts it; a test keeps this list equal
to the core's."""

from django.utils.translation import gettext_noop

MESSAGES = (
    gettext_noop("the survivor counts must cover at least two periods (three numbers: the cohort's size and two periods)"),
    gettext_noop("the survivor counts must be whole numbers of at least 0"),
    gettext_noop("the cohort must start with at least one customer"),
    gettext_noop("the survivor counts cannot grow: period %(period)s has more customers than the period before"),
    gettext_noop("nobody left in any period: the model needs some customers who churned"),
    gettext_noop("everybody left in the first period: the model needs some customers who stayed"),
    gettext_noop("the retention model could not be fitted to these counts"),
    gettext_noop("%(what)s must be a number, not %(value)s"),
    gettext_noop("%(what)s cannot be negative"),
    gettext_noop("%(what)s must be a whole number"),
    gettext_noop("recency cannot be greater than T (the customer's age)"),
    gettext_noop("a customer without repeat purchases must have a recency of 0"),
    gettext_noop("T (the customer's age) must be more than 0"),
    gettext_noop("no customer made a repeat purchase: the purchase model needs some who did"),
    gettext_noop("the purchase model could not be fitted to this data"),
    gettext_noop("the monetary value of a customer with repeat purchases must be more than 0"),
    gettext_noop("the order value model needs at least two customers with repeat purchases"),
    gettext_noop("the order value model could not be fitted: the order values vary too little or too much"),
    gettext_noop("the discount rate must be from 0 to 1"),
    gettext_noop("the horizon must be from 1 to %(maximum)s periods"),
    gettext_noop("there are no customers in the data"),
    gettext_noop("the columns frequency, recency, T and monetary_value must have the same length"),
)
