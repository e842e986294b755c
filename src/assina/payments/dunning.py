"""The dunning policy as the operator sets it: read from the admin's row (else the settings'
defaults), validated, and saved.

Its arithmetic (when a failed payment is retried, which declines are never retried, how long a
past-due subscription keeps access, what happens when every retry failed) is pure and lives in
``assina.core.dunning``.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.dunning import FINAL_ACTION_CODES, Policy
from assina.core.errors import DomainError
from assina.events.services import record

from .models import DunningPolicy


class PolicyError(DomainError):
    pass


def parse_days(text: str) -> tuple[int, ...]:
    """``"1, 3, 5"`` -> (1, 3, 5); refuses anything but strictly increasing positive whole days."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]
    try:
        days = tuple(int(p) for p in parts)
    except ValueError:
        raise PolicyError(_("the retry schedule must be whole days separated by commas, e.g. 1, 3, 5, 7, 10, 14")) from None
    if any(d <= 0 for d in days) or any(b <= a for a, b in zip(days, days[1:])):
        raise PolicyError(_("the retry days must be positive and increasing, e.g. 1, 3, 5, 7, 10, 14"))
    if len(days) > 20:
        raise PolicyError(_("a retry schedule has at most 20 retries"))
    return days


def parse_codes(text: str) -> frozenset[str]:
    return frozenset(c.strip().lower() for c in str(text).replace("\n", ",").split(",") if c.strip())


def parse_grace(value: object) -> int:
    try:
        days = int(str(value).strip())
    except ValueError:
        raise PolicyError(_("the grace period must be a whole number of days")) from None
    if not 0 <= days <= 365:
        raise PolicyError(_("the grace period must be between 0 and 365 days"))
    return days


def parse_final_action(value: str) -> str:
    action = str(value).strip().lower()
    if action not in FINAL_ACTION_CODES:
        raise PolicyError(_("the final action must be one of: %(actions)s") % {"actions": ", ".join(FINAL_ACTION_CODES)})
    return action


def settings_policy() -> Policy:
    try:
        return Policy(
            retry_days=parse_days(settings.ASSINA_DUNNING_RETRY_DAYS),
            hard_codes=parse_codes(settings.ASSINA_DUNNING_HARD_CODES),
            soft_codes=parse_codes(settings.ASSINA_DUNNING_SOFT_CODES),
            grace_days=parse_grace(settings.ASSINA_DUNNING_GRACE_DAYS),
            final_action=parse_final_action(settings.ASSINA_DUNNING_FINAL_ACTION),
        )
    except PolicyError as exc:
        raise ImproperlyConfigured(f"ASSINA_DUNNING_*: {exc}") from None


def current_policy() -> Policy:
    """The policy edited in the admin, else the settings' defaults (read once per call: it is
    one small row, and a changed policy applies from the next failure on)."""
    row = DunningPolicy.objects.filter(pk=1).first()
    if row is None:
        return settings_policy()
    return Policy(retry_days=parse_days(row.retry_days), hard_codes=parse_codes(row.hard_decline_codes),
                  soft_codes=parse_codes(row.soft_decline_codes), grace_days=row.grace_days,
                  final_action=parse_final_action(row.final_action))


def save_policy(*, retry_days: str, hard_codes: str, soft_codes: str, grace_days: object, final_action: str,
                at: datetime) -> Policy:
    """Validate and store the policy (the admin and ``assina dunning policy`` use this)."""
    days = parse_days(retry_days)
    policy = Policy(days, parse_codes(hard_codes), parse_codes(soft_codes), parse_grace(grace_days),
                    parse_final_action(final_action))
    with transaction.atomic():
        row, _created = DunningPolicy.objects.update_or_create(pk=1, defaults={
            "retry_days": ", ".join(str(d) for d in days), "hard_decline_codes": ", ".join(sorted(policy.hard_codes)),
            "soft_decline_codes": ", ".join(sorted(policy.soft_codes)), "grace_days": policy.grace_days,
            "final_action": policy.final_action, "updated_at": at,
        })
        record("dunning_policy.updated", row, at, policy_json(policy))
    return policy


def policy_json(policy: Policy) -> dict:
    return {"retry_days": list(policy.retry_days), "hard_decline_codes": sorted(policy.hard_codes),
            "soft_decline_codes": sorted(policy.soft_codes), "grace_days": policy.grace_days,
            "final_action": policy.final_action}
