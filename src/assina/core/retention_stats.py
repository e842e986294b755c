"""The cancel flow's figures as plain maths: shares, rates and whether two variants differ.

Counts in, fractions out (``None`` where a denominator is 0: "no data" is not "0 %"). The
variants' comparison is a two-sided test of two proportions:

- the **two-proportion z-test** with the pooled proportion when every expected cell count of
  the 2×2 table is at least 5 (the usual condition for its normal approximation);
- **Fisher's exact test** otherwise (few sessions, or rates near 0 or 1), which needs no
  approximation.

"Significant" means p < ``alpha`` (5 % by default). Standard library and SciPy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import N_, DomainError

ALPHA = 0.05
MIN_EXPECTED = 5  # below this expected count in any cell the z-test's approximation is not trusted


class StatsError(DomainError):
    """Counts that cannot describe a proportion (negative, or more successes than trials)."""


def _check(successes: int, trials: int) -> None:
    for value in (successes, trials):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise StatsError(N_("counts must be whole numbers of at least 0"))
    if successes > trials:
        raise StatsError(N_("%(successes)s successes out of %(trials)s trials is not a proportion"),
                         successes=successes, trials=trials)


def rate(successes: int, trials: int) -> float | None:
    """``successes / trials``; None when there were no trials."""
    _check(successes, trials)
    return successes / trials if trials else None


def shares(counts: Mapping[str, int]) -> dict[str, float | None]:
    """Each key's part of the total (they add up to 1); None for every key when the total is 0."""
    total = sum(counts.values())
    for value in counts.values():
        _check(value, total)
    return {key: (value / total if total else None) for key, value in counts.items()}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Variant A against variant B on one proportion (acceptances per offer shown, saves per session)."""

    successes_a: int
    trials_a: int
    successes_b: int
    trials_b: int
    rate_a: float | None
    rate_b: float | None
    difference: float | None  # rate_b - rate_a
    p_value: float | None
    test: str | None  # "z" or "fisher"; None when a variant has no trials
    significant: bool

    def as_dict(self) -> dict:
        return {"a": {"successes": self.successes_a, "trials": self.trials_a, "rate": self.rate_a},
                "b": {"successes": self.successes_b, "trials": self.trials_b, "rate": self.rate_b},
                "difference": self.difference, "p_value": self.p_value, "test": self.test,
                "significant": self.significant}


def z_test(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (both n > 0)."""
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:  # both all successes or both all failures: no difference at all
        return 1.0
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def fisher_exact(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test on [[x1, n1 - x1], [x2, n2 - x2]]."""
    from scipy.stats import fisher_exact as scipy_fisher  # imported when needed: SciPy is slow to import

    return float(scipy_fisher([[x1, n1 - x1], [x2, n2 - x2]], alternative="two-sided").pvalue)


def needs_exact_test(x1: int, n1: int, x2: int, n2: int) -> bool:
    """Whether any expected count of the 2×2 table is below ``MIN_EXPECTED``."""
    total, successes = n1 + n2, x1 + x2
    failures = total - successes
    return any(n * column / total < MIN_EXPECTED for n in (n1, n2) for column in (successes, failures))


def compare(x1: int, n1: int, x2: int, n2: int, *, alpha: float = ALPHA) -> Comparison:
    """Variant A (x1 of n1) against variant B (x2 of n2)."""
    _check(x1, n1)
    _check(x2, n2)
    rate_a, rate_b = rate(x1, n1), rate(x2, n2)
    if not n1 or not n2:
        return Comparison(x1, n1, x2, n2, rate_a, rate_b, None, None, None, False)
    exact = needs_exact_test(x1, n1, x2, n2)
    p = fisher_exact(x1, n1, x2, n2) if exact else z_test(x1, n1, x2, n2)
    p = min(max(p, 0.0), 1.0)
    return Comparison(x1, n1, x2, n2, rate_a, rate_b, rate_b - rate_a, p, "fisher" if exact else "z", p < alpha)


def total_by_key(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Sum amounts per key (saved MRR per currency), keys in first-seen order."""
    totals: dict[str, int] = {}
    for key, amount in pairs:
        totals[key] = totals.get(key, 0) + amount
    return totals
