"""``GET /api/v1/metrics/retention``: the cancel flow's figures (``retention.report``). Mounted by
``assina.api.main`` beside the dashboard's metrics.

Counts are integers, rates fractions (null when there is nothing to divide by), amounts integers
in minor units per currency.
"""

from __future__ import annotations

from typing import Optional

from ninja import Field, Query, Router, Schema

from .report import retention_report

metrics = Router(tags=["metrics"])


class RetentionQuery(Schema):
    from_: Optional[str] = Field(None, alias="from", max_length=10,
                                 description="first day (YYYY-MM-DD) or month (YYYY-MM) of the sessions' start; "
                                             "default: 90 days before `to`")
    to: Optional[str] = Field(None, max_length=10, description="last day or month, included; default: today")


class Figures(Schema):
    sessions: int
    share: Optional[float] = Field(None, description="of all the range's sessions")
    offers_shown: int
    offers_accepted: int
    acceptance_rate: Optional[float] = Field(None, description="offers accepted / offers shown")
    evaluated: int = Field(description="sessions whose 30 days have passed and whose outcome is known")
    pending: int = Field(description="sessions too recent (or not yet checked) to judge")
    saves: int = Field(description="accepted an offer and still paying 30 days after the session started")
    save_rate: Optional[float] = Field(None, description="saves / evaluated sessions")
    accepted_not_paying: int = Field(description="accepted an offer but not paying 30 days later")
    saved_mrr: dict[str, int] = Field(description="MRR of the saves at the session's start, minor units per currency")


class Group(Figures):
    key: str = Field(description="the reason's code, the offer's kind (or `none`), or the variant (`a`, `b`)")


class Arm(Schema):
    successes: int
    trials: int
    rate: Optional[float]


class Comparison(Schema):
    a: Arm
    b: Arm
    difference: Optional[float] = Field(None, description="rate of B minus rate of A")
    p_value: Optional[float] = Field(None, description="two-sided")
    test: Optional[str] = Field(None, description="`z` (two-proportion z-test) or `fisher` (Fisher's exact test, "
                                                  "when an expected count is below 5)")
    significant: bool = Field(description="p < 0.05")


class ReasonTest(Schema):
    reason: str
    save_rate: Comparison
    acceptance_rate: Comparison


class VariantTest(Schema):
    reasons: list[str] = Field(description="the reasons that had both variants in the range (pooled below)")
    save_rate: Comparison
    acceptance_rate: Comparison
    by_reason: list[ReasonTest]


class RetentionOut(Figures):
    from_: str = Field(alias="from")
    to: str
    as_of: str
    save_window_days: int
    outcomes: dict[str, int] = Field(description="sessions by outcome: open, canceled, saved (accepted an offer), "
                                                 "abandoned")
    stayed_without_offer: int = Field(description="left the flow without an offer and still paying 30 days later "
                                                  "(not counted as saves)")
    reasons: list[Group]
    offers: list[Group]
    variants: list[Group]
    variant_test: VariantTest


@metrics.get("/retention", response=RetentionOut, by_alias=True, summary="Cancel flow: reasons, offers, saves",
             description="For the cancel sessions started in the range: reasons and their shares, offers shown and "
                         "accepted, the save rate validated against billing 30 days later and the saved MRR, by "
                         "reason, offer and variant, with A against B tested (docs/metrics.md, Retention).")
def retention(request, query: Query[RetentionQuery]):
    return retention_report(query.from_, query.to)
