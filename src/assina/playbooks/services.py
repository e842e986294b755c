"""Running playbooks: find the customers whose trigger fired, run the actions, log each run.

``run_playbooks(at)`` checks every active playbook (the worker's job does it every hour): each
customer its trigger finds that had no run of it in the last ``period_days`` gets one
``PlaybookRun`` with a ``playbook.run`` event on their timeline, in the same transaction as its
actions:

- e-mail: the chosen campaign, rendered in the customer's language, queued once per run
  (``notifications.campaigns.send_to``);
- coupon: applied to the customer's running subscription from its next invoice
  (``subscriptions.discounts.apply_discount``, source ``playbook``), which the portal shows;
- task: a task for the owner (``engagement.services.add_task``, source ``playbook:<id>``);
- webhooks: a ``playbook.webhook`` event, delivered to the endpoints subscribed to it.

An action that is refused (a discount already running, an e-mail address that bounces) is
logged with its reason; the other actions still run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from assina.engagement.services import add_task
from assina.events.services import record
from assina.i18n import localized_message
from assina.notifications.campaigns import send_to
from assina.subscriptions.discounts import apply_discount
from assina.subscriptions.models import Subscription
from assina.core.errors import DomainError

from . import signals
from .models import Playbook, PlaybookRun, Trigger

EVERY = timedelta(hours=1)


def candidates(playbook: Playbook, at: datetime) -> dict[int, dict]:
    """Customer id -> what met the trigger now (before the once-per-period rule)."""
    # Event-like triggers look back one period, and never before the playbook existed.
    since = max(playbook.created_at, at - timedelta(days=playbook.period_days))
    match playbook.trigger:
        case Trigger.HEALTH_BELOW:
            return signals.current_health_below(playbook.threshold)
        case Trigger.RISK_ABOVE:
            return signals.current_risk_above(playbook.threshold / 100)
        case Trigger.INACTIVE:
            return signals.current_inactive(playbook.threshold, at)
        case Trigger.DETRACTOR:
            return signals.current_detractors(since, at)
        case Trigger.PAYMENT_FAILED:
            return signals.current_failed_payments(since, at)
        case Trigger.MILESTONE_MISSED:
            days = playbook.threshold if playbook.threshold is not None else playbook.milestone.due_days
            return signals.current_missed_milestone(playbook.milestone.event_name, days,
                                                    at - timedelta(days=playbook.period_days), at)
    return {}


def _recently_run(playbook: Playbook, at: datetime) -> set[int]:
    return set(PlaybookRun.objects.filter(playbook=playbook, fired_at__gt=at - timedelta(days=playbook.period_days))
               .values_list("customer_id", flat=True))


def _attempt(action: str, work) -> dict:
    try:
        with transaction.atomic():
            detail = work()
        return {"action": action, "outcome": "done", "detail": detail}
    except DomainError as exc:
        return {"action": action, "outcome": "refused", "detail": localized_message(exc)}


def _actions(playbook: Playbook, run: PlaybookRun, at: datetime) -> list[dict]:
    customer_id = run.customer_id
    done = []
    if playbook.email_campaign_id:
        def email():
            counts = send_to(playbook.email_campaign_id, [customer_id], f"playbook:{run.pk}:customer:{{pk}}", at)
            return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or _("nothing to send")
        done.append(_attempt("email", email))
    if playbook.coupon_id:
        def coupon():
            sub = (Subscription.objects.filter(customer_id=customer_id, status__in=("active", "past_due"),
                                               imported_at__isnull=True).order_by("-started_at").first())
            if sub is None:
                raise DomainError(_("no running subscription billed by Assina to discount"))
            apply_discount(sub.pk, coupon_code=playbook.coupon.code, source="playbook")
            return f"{playbook.coupon.code} → sub_{sub.pk}"
        done.append(_attempt("coupon", coupon))
    if playbook.task_title.strip():
        def task():
            made = add_task(customer_id, title=playbook.task_title, due_at=at + timedelta(days=playbook.task_due_days),
                            source=f"playbook:{playbook.pk}", at=at)
            return f"task_{made.pk}"
        done.append(_attempt("task", task))
    if playbook.call_webhook:
        def webhook():
            record("playbook.webhook", run, at, {"playbook": playbook.pk, "name": playbook.name, "trigger": playbook.trigger,
                                                 "reason": run.reason})
            return "playbook.webhook"
        done.append(_attempt("webhook", webhook))
    return done


def run_playbook(playbook_id: int, at: datetime) -> dict:
    """Check one playbook now; run it for each customer it fires for. Returns the counts."""
    with transaction.atomic():
        playbook = Playbook.objects.select_for_update(of=("self",)).select_related("milestone", "coupon").get(pk=playbook_id)
        if not playbook.active:
            return {"playbook": playbook.pk, "fired": 0, "skipped": 0}
        found = candidates(playbook, at)
        recent = _recently_run(playbook, at)
        fired = 0
        for customer_id in sorted(found):
            if customer_id in recent:
                continue
            run = PlaybookRun.objects.create(playbook=playbook, customer_id=customer_id, fired_at=at,
                                             reason={"trigger": playbook.trigger, **found[customer_id]})
            run.actions = _actions(playbook, run, at)
            run.save(update_fields=["actions"])
            record("playbook.run", run, at, {"playbook": playbook.pk, "name": playbook.name, "trigger": playbook.trigger,
                                             "reason": run.reason, "actions": run.actions})
            fired += 1
        playbook.checked_at = at
        playbook.save(update_fields=["checked_at"])
    return {"playbook": playbook.pk, "name": playbook.name, "fired": fired, "skipped": len(found) - fired}


def run_playbooks(at: datetime) -> dict:
    results = [run_playbook(pk, at) for pk in Playbook.objects.filter(active=True).order_by("pk").values_list("pk", flat=True)]
    return {"playbooks": results, "fired": sum(r["fired"] for r in results)}


def create_playbook(*, name: str, trigger: str, at: datetime, **fields) -> Playbook:
    """A new playbook, checked like the admin's form (``Playbook.clean``)."""
    from django.core.exceptions import ValidationError

    playbook = Playbook(name=name, trigger=trigger, created_at=at, **fields)
    try:
        playbook.full_clean()
    except ValidationError as exc:
        raise DomainError("; ".join(exc.messages)) from None
    playbook.save()
    return playbook
