"""The temporary upgrades' due work: the reminder two days before a trial ends, and its end.

Each running trial's ``next_action_at`` says when to look at it again (the reminder, then the
end), so the job's query and its cheap checks read one indexed column. Work is stamped with the
time it fell due when the test clock runs it (``at_due_time``), with ``until`` otherwise.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from assina.core.pricing import price_amount
from assina.core.states import LIVE
from assina.events.services import record
from assina.notifications.context import interval_word, local_date, money
from assina.notifications.outbox import Draft, queue
from assina.portal.models import PortalLink
from assina.portal.services import create_link

from .models import TemporaryUpgrade
from .services import _base_item, _trial_data

REMINDER_LINK_AGE = timedelta(days=2)


def has_work(until: datetime) -> bool:
    return TemporaryUpgrade.objects.filter(next_action_at__lte=until).exists()


def next_due() -> datetime | None:
    return (TemporaryUpgrade.objects.filter(next_action_at__isnull=False).order_by("next_action_at")
            .values_list("next_action_at", flat=True).first())


def process_due_trials(until: datetime, *, at_due_time: bool) -> dict:
    done = {"reminded": 0, "reverted": 0}
    ids = list(TemporaryUpgrade.objects.filter(next_action_at__lte=until).order_by("next_action_at", "id")
               .values_list("id", flat=True))
    for trial_id in ids:
        with transaction.atomic():
            trial = (TemporaryUpgrade.objects.select_for_update(of=("self",))
                     .select_related("subscription__plan", "subscription__customer", "to_plan", "from_plan")
                     .filter(pk=trial_id, next_action_at__lte=until).first())
            if trial is None:  # another worker did it
                continue
            due = trial.next_action_at
            at = due if at_due_time else until
            sub = trial.subscription
            still_on_it = sub.status in LIVE and sub.plan_id == trial.from_plan_id
            if trial.ends_at <= until:
                _revert(trial, trial.ends_at if at_due_time else until, "ended")
                done["reverted"] += 1
            elif not still_on_it:
                # Cancelled, paused or moved to another plan meanwhile: nothing to remind of.
                _revert(trial, at, "subscription_changed")
                done["reverted"] += 1
            else:
                _remind(trial, at)
                done["reminded"] += 1
    return done


def _revert(trial: TemporaryUpgrade, at: datetime, reason: str) -> None:
    trial.reverted_at = at
    trial.next_action_at = None
    trial.save(update_fields=["reverted_at", "next_action_at"])
    sub = trial.subscription
    record("upgrade.trial_reverted", sub, at, _trial_data(trial, sub.plan, reason=reason), customer_id=sub.customer_id)


def _remind(trial: TemporaryUpgrade, at: datetime) -> None:
    sub, customer = trial.subscription, trial.subscription.customer
    locale, tz = customer.locale, customer.time_zone
    item = _base_item(sub)
    quantity = item.quantity if item else 1
    _link, url = create_link(customer, origin=PortalLink.Origin.API, age=REMINDER_LINK_AGE)
    context = {
        "subscription": {"plan": sub.plan.name, "amount": money(price_amount(item.plan_version.price_spec(), quantity), sub.currency, locale)
                         if item else "", "interval": interval_word(sub.interval, sub.interval_count, locale),
                         "period_end": local_date(sub.current_period_end, locale, tz), "trial_end": "",
                         "renews_on": local_date(sub.current_period_end, locale, tz)},
        "trial_plan": trial.to_plan.name, "ends_on": local_date(trial.ends_at, locale, tz),
        "new_price": money(price_amount(trial.to_plan.current_version().price_spec(), quantity), sub.currency, locale),
        "portal_url": url,
    }
    queue([Draft(key=f"upgrade_trial_ending.{trial.pk}", template="upgrade_trial_ending", customer=customer, due_at=at,
                 context=context)], at)
    trial.reminded_at = at
    trial.next_action_at = trial.ends_at
    trial.save(update_fields=["reminded_at", "next_action_at"])
    record("upgrade.trial_reminded", sub, at, _trial_data(trial, trial.to_plan), customer_id=sub.customer_id)
