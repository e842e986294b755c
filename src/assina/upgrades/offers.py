"""What the portal's home offers a subscription: ``offers_for(subscription) -> dict``.

Strings are ready to show, in the customer's language and formats (call it inside the portal's
``translation.override``). Nothing is written. Three queries for a subscription the owner offers
nothing to (its running trial, an annual offer for its plan, plans of its interval to try); more
only for what is offered (the annual quote prices the switch like the plan change would).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from assina.notifications.context import local_date, money

from . import services


def offers_for(subscription) -> dict:
    """``{"annual": {...} | None, "trials": [...], "running_trial": {...} | None}``:

    - ``annual``: ``{"url", "label" ("Switch to annual (save R$ 59,80)"), "saving", "annual_plan"}``
      when the switch is available and saves the customer money;
    - ``trials``: ``[{"url", "label" ("Try Premium free for 14 days"), "plan", "days"}]``;
    - ``running_trial``: ``{"url", "label" ("Your free trial of Premium ends on …: keep it"),
      "plan", "ends_on"}`` while a temporary upgrade runs.
    """
    sub = subscription
    customer = sub.customer
    locale, tz = customer.locale, customer.time_zone
    result: dict = {"annual": None, "trials": [], "running_trial": None}
    trial = services.running_trial(sub)
    if trial is not None:
        ends = local_date(trial.ends_at, locale, tz)
        result["running_trial"] = {
            "url": f"/portal/upgrade/{sub.pk}/", "plan": trial.to_plan.name, "ends_on": ends,
            "label": _("Your free trial of %(plan)s ends on %(date)s: keep it") % {"plan": trial.to_plan.name, "date": ends}}
    if not services.annual_unavailable(sub):
        try:
            quote = services.annual_quote(sub)
        except services.UpgradeError:
            quote = None
        if quote is not None and quote.saving > 0:
            saving = money(quote.saving, quote.currency, locale)
            result["annual"] = {"url": f"/portal/annual/{sub.pk}/", "saving": saving, "annual_plan": quote.annual_plan.name,
                                "label": _("Switch to annual (save %(amount)s)") % {"amount": saving}}
    for option in services.trial_options(sub, running=trial):
        result["trials"].append({
            "url": f"/portal/upgrade/{sub.pk}/", "plan": option.plan.name, "days": option.days,
            "label": _("Try %(plan)s free for %(days)s days") % {"plan": option.plan.name, "days": option.days}})
    return result
