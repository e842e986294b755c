"""The upgrades app's API routes, with their full paths under /api/v1 (mounted at "" by
``assina.api.main``): ``GET /api/v1/customers/{customer_id}/suggestions`` and
``GET /api/v1/metrics/suggestions`` (shown, accepted, acceptance rate and added MRR, by kind)."""

from __future__ import annotations

from typing import Literal, Optional

from ninja import Field, Query, Router, Schema

from assina.analytics.suggestions import suggestions_report
from assina.api.errors import not_found

from . import suggestions

router = Router(tags=["suggestions"])


class SuggestionOut(Schema):
    key: str = Field(description="`plan:<code>` (an upgrade or a bundle) or `addon:<code>` (an add-on)")
    kind: Literal[suggestions.KINDS] = Field(
        description="usage_upsell, limit_upsell, cross_sell, bundle (a bundle with the customer's plan that costs less "
                    "than its parts: a plan change) or popular")
    plan: str
    name: str
    price: str = Field(description="its price per period, formatted in the customer's language")
    amount: int = Field(description="minor units per period")
    monthly_amount: int = Field(description="the MRR it would add, minor units")
    currency: str
    reason: str = Field(description="why, in the customer's language (or `?locale=`)")
    subscription: Optional[int]
    url: str = Field(description="where the customer takes it in the portal")


@router.get("/customers/{customer_id}/suggestions", response=list[SuggestionOut],
            summary="At most three upsell and cross-sell suggestions for a customer, each with its reason",
            description="Listing them records nothing: `suggestion.shown` is recorded where a customer sees them.")
def customer_suggestions(request, customer_id: str, locale: Optional[Literal["en", "pt-BR"]] = None):
    try:
        found = suggestions.suggestions_for(customer_id, locale=locale)
    except suggestions.SuggestionError:
        raise not_found("customer", customer_id) from None
    return [s.as_dict() for s in found]


class SuggestionsQuery(Schema):
    from_: Optional[str] = Field(None, alias="from", max_length=10,
                                 description="first day (YYYY-MM-DD) or month (YYYY-MM) the suggestions were shown; "
                                             "default: 90 days before `to`")
    to: Optional[str] = Field(None, max_length=10, description="last day or month, included; default: today")


class SuggestionFigures(Schema):
    shown: int = Field(description="`suggestion.shown` events: a suggestion shown to a customer (at most once a day)")
    accepted: int = Field(description="of those, taken by the customer within 30 days (`suggestion.accepted`)")
    acceptance_rate: Optional[float] = Field(None, description="accepted / shown (null when nothing was shown)")
    added_mrr: dict[str, int] = Field(description="MRR the accepted suggestions added, minor units per currency")


class KindFigures(SuggestionFigures):
    kind: Literal[suggestions.KINDS]


class SuggestionsMetrics(SuggestionFigures):
    from_: str = Field(alias="from")
    to: str
    as_of: str
    by_kind: list[KindFigures]


@router.get("/metrics/suggestions", response=SuggestionsMetrics, by_alias=True, tags=["metrics"],
            summary="Suggestions: shown, accepted, acceptance rate and added MRR",
            description="For the suggestions shown in the range (days of the business time zone): how many were "
                        "shown and accepted, the acceptance rate and the MRR the accepted ones added, overall and by "
                        "kind (docs/metrics.md, Suggestions).")
def suggestions_metrics(request, query: Query[SuggestionsQuery]):
    return suggestions_report(query.from_, query.to)
