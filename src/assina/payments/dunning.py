"""The dunning policy: when a failed payment is retried, which declines are never retried, how
long a past-due subscription keeps access, and what happens when every retry failed.

The schedule counts from the invoice's first failure (``dunning_started_at``): with the default
days 1, 3, 5, 7, 10, 14, an invoice that fails on the 1st is retried on the 2nd, 4th, 6th,
8th, 11th and 15th, and the final action follows the last failure. Counting from the first
failure (not from the attempt number) keeps the schedule when an extra attempt happens in
between — a new card, ``assina invoice pay``, the admin's "try to collect now".

A hard decline (lost or stolen card, fraud, do not honor...) is never retried with the same
card: the invoice waits for a new payment method (adding one retries at once) until the day
the schedule would have ended, then the final action is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from assina.core.errors import DomainError

CANCEL, UNPAID, PAUSE = "cancel", "unpaid", "pause"
FINAL_ACTION_CODES = (CANCEL, UNPAID, PAUSE)

# Invoice.dunning_status values.
RETRYING = "retrying"
AWAITING_METHOD = "awaiting_method"
RECOVERED = "recovered"
EXHAUSTED = "exhausted"


class PolicyError(DomainError):
    pass


@dataclass(frozen=True)
class Policy:
    retry_days: tuple[int, ...]
    hard_codes: frozenset[str]
    soft_codes: frozenset[str]
    grace_days: int
    final_action: str

    def is_hard(self, decline_code: str) -> bool:
        # A code listed as soft wins over the hard list; unknown codes are retried (soft).
        return decline_code in self.hard_codes and decline_code not in self.soft_codes

    @property
    def last_day(self) -> int:
        return self.retry_days[-1] if self.retry_days else 0

    def next_retry(self, started_at: datetime, failed_at: datetime) -> datetime | None:
        """The first scheduled retry after ``failed_at`` (None: the schedule is over)."""
        for day in self.retry_days:
            when = started_at + timedelta(days=day)
            if when > failed_at:
                return when
        return None

    def final_at(self, started_at: datetime) -> datetime:
        """When a hard-declined invoice still unpaid gets the final action."""
        return started_at + timedelta(days=self.last_day)

    def grace_until(self, started_at: datetime) -> datetime:
        return started_at + timedelta(days=self.grace_days)


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
    from .models import DunningPolicy

    row = DunningPolicy.objects.filter(pk=1).first()
    if row is None:
        return settings_policy()
    return Policy(retry_days=parse_days(row.retry_days), hard_codes=parse_codes(row.hard_decline_codes),
                  soft_codes=parse_codes(row.soft_decline_codes), grace_days=row.grace_days,
                  final_action=parse_final_action(row.final_action))


def save_policy(*, retry_days: str, hard_codes: str, soft_codes: str, grace_days: object, final_action: str,
                at: datetime) -> Policy:
    """Validate and store the policy (the admin and ``assina dunning policy`` use this)."""
    from django.db import transaction

    from assina.events.services import record

    from .models import DunningPolicy

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
