"""Trials (how many convert to paid) and cancellations (why customers leave)."""

from __future__ import annotations

import numpy as np

from .table import SubscriptionFacts

# Subscriptions whose first payment never succeeded did not cancel: they never started.
NOT_A_CANCELLATION = "incomplete_expired"


def trial_conversion(facts: SubscriptionFacts, keep: np.ndarray, since: int, until: int) -> dict:
    """Trials whose (scheduled) end falls in [since, until]: how many became paying."""
    ended = keep & (facts.trial_end >= since) & (facts.trial_end <= until)
    converted = ended & (facts.converted_at >= 0) & (facts.converted_at <= until)
    started = keep & (facts.trial_end >= 0) & (facts.started_at >= since) & (facts.started_at <= until)
    n_ended, n_converted = int(ended.sum()), int(converted.sum())
    return {"trials_started": int(started.sum()), "trials_ended": n_ended, "trials_converted": n_converted,
            "trial_conversion_rate": (n_converted / n_ended) if n_ended else None}


def cancellations(facts: SubscriptionFacts, keep: np.ndarray, lost: np.ndarray, since: int, until: int) -> list[dict]:
    """Subscriptions that ended in [since, until], by reason, with the MRR they took."""
    excluded = facts.reasons.index(NOT_A_CANCELLATION) if NOT_A_CANCELLATION in facts.reasons else -1
    ended = keep & (facts.ended_at >= since) & (facts.ended_at <= until) & (facts.reason != excluded)
    n = len(facts.reasons)
    count = np.bincount(facts.reason[ended], minlength=n)
    mrr = np.rint(np.bincount(facts.reason[ended], weights=lost[ended], minlength=n)).astype(np.int64)
    rows = [{"reason": facts.reasons[i], "count": int(count[i]), "mrr": int(mrr[i])} for i in range(n) if count[i]]
    return sorted(rows, key=lambda r: (-r["count"], r["reason"]))
