"""What the portal's home offers a subscription: ``offers_for(subscription) -> dict``.

Strings are ready to show, in the customer's language and formats (call it inside the portal's
``translation.override``). Nothing is written. One query for a subscription the owner offers
nothing to (``_anything_to_offer``: is a trial running, is there an annual offer for its plan or
a plan to try at all); only then the services' own lookups (the annual quote prices the switch
like the plan change would). The portal's home asks this for every subscription it shows.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from assina.notifications.context import local_date, money

from . import queries, services

def _anything_to_offer(sub) -> bool:
    """False when none of the three can apply: no trial running on ``sub``, no active annual offer
    for its plan, no active plan to try at all. A superset of what ``services`` checks (it looks
    further: currencies, intervals, prices), so False never hides an offer."""
    return queries.anything_to_offer(sub.pk, sub.plan_id)


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
    if not _anything_to_offer(sub):
        return result
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
