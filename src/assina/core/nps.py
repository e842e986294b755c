"""NPS and CSAT arithmetic (issue 17). Pure: standard library and numpy only.

- NPS scores are 0–10: promoters 9–10, passives 7–8, detractors 0–6;
  NPS = % promoters − % detractors, from −100 to +100 (one decimal, rounded half up).
- CSAT scores are 1–5; CSAT = the share of 4s and 5s, in % (one decimal).
- Response rate = responses / surveys sent, in %.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

NPS = "nps"
CSAT = "csat"
NOTE = "note"  # a comment without a score: a cancellation reason, a support note
SCALES = {NPS: (0, 10), CSAT: (1, 5)}

PROMOTER, PASSIVE, DETRACTOR = "promoter", "passive", "detractor"


class ScoreError(ValueError):
    """A score outside its survey's scale."""


def check_score(survey: str, score: int | None) -> None:
    if survey == NOTE:
        if score is not None:
            raise ScoreError("a note has no score")
        return
    if survey not in SCALES:
        raise ScoreError(f"unknown survey {survey!r}: nps, csat or note")
    low, high = SCALES[survey]
    if score is None or isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise ScoreError(f"a {survey} score is a whole number from {low} to {high}")


def category(score: int) -> str:
    """The NPS group of a 0–10 score."""
    if score >= 9:
        return PROMOTER
    if score >= 7:
        return PASSIVE
    return DETRACTOR


def _percent(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class NpsSummary:
    responses: int
    promoters: int
    passives: int
    detractors: int

    @property
    def nps(self) -> float | None:
        """% promoters − % detractors, one decimal (None without responses). Computed from the
        counts in one division, so it is exact before the single rounding."""
        if not self.responses:
            return None
        value = Decimal(100 * (self.promoters - self.detractors)) / Decimal(self.responses)
        return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))

    def as_dict(self) -> dict:
        return {"responses": self.responses, "promoters": self.promoters, "passives": self.passives,
                "detractors": self.detractors, "nps": self.nps,
                "promoters_pct": _percent(self.promoters, self.responses),
                "passives_pct": _percent(self.passives, self.responses),
                "detractors_pct": _percent(self.detractors, self.responses)}


@dataclass(frozen=True)
class CsatSummary:
    responses: int
    satisfied: int  # 4s and 5s

    @property
    def csat(self) -> float | None:
        return _percent(self.satisfied, self.responses)

    def as_dict(self) -> dict:
        return {"responses": self.responses, "satisfied": self.satisfied, "csat": self.csat}


def nps_of(scores) -> NpsSummary:
    """The NPS of a sequence (or numpy array) of 0–10 scores, vectorised: a million scores in
    a few milliseconds."""
    counts = np.bincount(np.asarray(scores, dtype=np.int64), minlength=11)
    if counts.size > 11:
        raise ScoreError("an NPS score is a whole number from 0 to 10")
    return nps_from_counts(counts)


def nps_from_counts(counts) -> NpsSummary:
    """The NPS from how many responses gave each score 0..10 (index = score)."""
    counts = [int(c) for c in counts]
    counts += [0] * (11 - len(counts))
    return NpsSummary(responses=sum(counts), promoters=counts[9] + counts[10], passives=counts[7] + counts[8],
                      detractors=sum(counts[:7]))


def csat_of(scores) -> CsatSummary:
    array = np.asarray(scores, dtype=np.int64)
    return CsatSummary(responses=int(array.size), satisfied=int(np.count_nonzero(array >= 4)))


def response_rate(responses: int, sent: int) -> float | None:
    """Responses to e-mailed surveys per survey sent, in % (None when none were sent)."""
    return _percent(min(responses, sent), sent)


def rank_weight(detractors: int, passives: int, promoters: int) -> tuple:
    """The default ranking of a theme: by the passives and detractors who raise it (the
    article's advice: their complaints are what moves NPS), a detractor counting twice (a
    detractor is both the customer most likely to leave and one who pulls NPS down, where a
    passive only fails to lift it); then detractors alone, then everyone. Sort descending."""
    return (2 * detractors + passives, detractors, detractors + passives + promoters)
