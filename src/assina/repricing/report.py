"""A price migration's report: what customers chose, what happened at their renewal, the MRR of
the group before and after, and the churn of the group against the rest.

- ``notified``: subscriptions in the migration (each got a notice).
- ``accepted`` / ``switched`` / ``annual``: customers who chose that option themselves.
- ``no_answer``: no choice (the owner's default applies to them), not cancelled.
- ``cancelled``: the subscription has ended or is set to end by a cancellation made since the
  notice, whatever was chosen.
- ``outcomes``: after the renewal, what each landed subscription is on (``pending`` before it).
- ``mrr_before``: the members' MRR when notified; ``mrr_after``: after their renewal for landed
  members, their MRR now for the others (per currency, minor units).
- ``attention``: members the migration could not treat as announced (a loyalty discount refused
  because another discount runs then, a subscriber who moved to another plan before their change
  was armed), with the reason: the owner sees to them (the first 200).
- ``churn``: the share of the group whose subscription ended or is set to end by a cancellation
  made since the notice, against the same share of the other subscriptions that were live and
  not already cancelling when the notice went out (as the group was taken).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db.models import Q
from django.utils.translation import gettext as _

from assina.subscriptions.models import Subscription
from assina.subscriptions.terms import current_mrr
from assina.time import now as clock_now

from .models import PriceMigration, PriceMigrationMember as Member
from .services import MigrationError

CHUNK = 5000
ATTENTION = 200


def _leaving() -> Q:
    """Ended, or set to end at the period end."""
    return Q(ended_at__isnull=False) | Q(cancel_at_period_end=True) | Q(status="canceled")


def _cancelled_since(at) -> Q:
    """Ended or set to end by a cancellation made at ``at`` or later. ``canceled_at`` is the
    time the cancellation was asked for (an ending keeps it; reactivating clears it), so a
    subscription that decided to leave before the notice and ends after it is no churn since
    the notice. An ending without one (an old import) counts by its end."""
    return _leaving() & (Q(canceled_at__gte=at) | Q(canceled_at__isnull=True, ended_at__gte=at))


def _leaving_before(at) -> Q:
    """Already ended or set to end at ``at``, by a cancellation made before it."""
    return _leaving() & (Q(canceled_at__lt=at) | Q(canceled_at__isnull=True, ended_at__lt=at))


def migration_report(migration_id: int | str) -> dict:
    at = clock_now()
    raw = str(migration_id).removeprefix("pm_")
    migration = (PriceMigration.objects.select_related("plan", "new_version", "switch_plan", "annual_plan")
                 .filter(pk=int(raw)).first() if raw.isdigit() else None)
    if migration is None:
        raise MigrationError(_("unknown price migration %(id)s") % {"id": repr(migration_id)})
    rows = list(Member.objects.filter(migration=migration).values_list(
        "subscription_id", "choice", "outcome", "currency", "mrr_before", "mrr_after", "landed_at"))
    sub_ids = [r[0] for r in rows]
    cancelled_ids: set[int] = set()
    open_ids = []
    for offset in range(0, len(sub_ids), CHUNK):
        chunk = sub_ids[offset:offset + CHUNK]
        cancelled_ids |= set(Subscription.objects.filter(pk__in=chunk).filter(_cancelled_since(migration.notified_at))
                             .values_list("pk", flat=True))
    now_mrr: dict[int, int] = {}
    unlanded = [r[0] for r in rows if r[6] is None]
    fields = ("id", "status", "currency", "interval", "interval_count", "coupon_id", "discount_applies_from", "discount_applies_until")
    for offset in range(0, len(unlanded), CHUNK):
        now_mrr.update(current_mrr(Subscription.objects.filter(pk__in=unlanded[offset:offset + CHUNK]).only(*fields), at))
    counts = Counter()
    outcomes = Counter()
    before: dict[str, int] = defaultdict(int)
    after: dict[str, int] = defaultdict(int)
    for sub_id, choice, outcome, currency, mrr_before, mrr_after, landed_at in rows:
        if sub_id in cancelled_ids:
            counts["cancelled"] += 1
        elif choice:
            counts[{"accept": "accepted", "switch": "switched", "annual": "annual"}[choice]] += 1
        else:
            counts["no_answer"] += 1
        outcomes[outcome or "pending"] += 1
        before[currency] += mrr_before
        after[currency] += mrr_after if landed_at is not None else now_mrr.get(sub_id, 0)
        if landed_at is None:
            open_ids.append(sub_id)
    group = len(rows)
    group_churned = len(cancelled_ids)
    # The rest: every other subscription live and not already leaving when the notice went out,
    # as the group was taken (created before it, not ended or cancelled before it).
    rest = (Subscription.objects.filter(created_at__lt=migration.notified_at)
            .exclude(pk__in=Subscription.objects.filter(_leaving_before(migration.notified_at)).values("pk"))
            .exclude(status="incomplete").exclude(pk__in=Member.objects.filter(migration=migration).values("subscription_id")))
    rest_total = rest.count()
    rest_churned = rest.filter(_cancelled_since(migration.notified_at)).count()
    # What the migration could not do as announced, for the owner to see to (the first 200).
    attention = [{"subscription": f"sub_{sub_id}", "customer": email, "note": note}
                 for sub_id, email, note in Member.objects.filter(migration=migration).exclude(note="")
                 .order_by("pk").values_list("subscription_id", "customer__email", "note")[:ATTENTION]]
    return {
        "migration": f"pm_{migration.pk}", "plan": migration.plan.code, "new_version": migration.new_version.version,
        "effective_at": migration.effective_at.isoformat(), "notified_at": migration.notified_at.isoformat(),
        "status": migration.status, "default": migration.default_choice, "offers": migration.offers(),
        "as_of": at.isoformat(),
        "notified": group, "accepted": counts["accepted"], "switched": counts["switched"], "annual": counts["annual"],
        "cancelled": counts["cancelled"], "no_answer": counts["no_answer"],
        "outcomes": {name: outcomes[name] for name in ["pending", *Member.Outcome.values] if outcomes[name]},
        "mrr_before": dict(before), "mrr_after": dict(after),
        "churn": {"group": {"subscriptions": group, "churned": group_churned,
                            "rate": round(group_churned / group, 4) if group else None},
                  "rest": {"subscriptions": rest_total, "churned": rest_churned,
                           "rate": round(rest_churned / rest_total, 4) if rest_total else None}},
        "attention": attention,
    }


def migrations_list() -> list[dict]:
    return [{"migration": f"pm_{m.pk}", "plan": m.plan.code, "new_version": m.new_version.version,
             "effective_at": m.effective_at.isoformat(), "subscriptions": m.members_count, "status": m.status}
            for m in PriceMigration.objects.select_related("plan", "new_version").order_by("-pk")[:100]]
