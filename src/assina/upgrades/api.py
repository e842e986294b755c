"""The upgrades app's API routes, with their full paths under /api/v1 (mounted at "" by
``assina.api.main``): ``GET /api/v1/customers/{customer_id}/suggestions``."""

from __future__ import annotations

from typing import Literal, Optional

from ninja import Field, Router, Schema

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
