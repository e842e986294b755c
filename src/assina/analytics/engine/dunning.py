"""Dunning recovery: of the invoices whose payment failed, how many were paid in the end."""

from __future__ import annotations

import numpy as np

from .table import DunningFacts


def recovery(facts: DunningFacts, keep: np.ndarray, since: int, until: int, native: bool = False) -> dict:
    failed = keep & (facts.first_failure_at >= since) & (facts.first_failure_at <= until)
    recovered = failed & (facts.recovered_at >= 0) & (facts.recovered_at <= until)
    lost = failed & ~recovered & facts.closed_unpaid
    n_failed, n_recovered = int(failed.sum()), int(recovered.sum())
    amount = facts.native if native else facts.amount
    amount_failed, amount_recovered = int(amount[failed].sum()), int(amount[recovered].sum())
    return {
        "invoices_failed": n_failed, "invoices_recovered": n_recovered, "invoices_lost": int(lost.sum()),
        "invoices_in_dunning": n_failed - n_recovered - int(lost.sum()),
        "amount_failed": amount_failed, "amount_recovered": amount_recovered,
        "dunning_recovery_rate": (n_recovered / n_failed) if n_failed else None,
        "dunning_amount_recovery_rate": (amount_recovered / amount_failed) if amount_failed else None,
    }
