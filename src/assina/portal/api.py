"""/portal_sessions: a single-use portal link for one customer. Mounted by ``assina.api.main``."""

from __future__ import annotations

from typing import Literal

from ninja import Field, Router, Schema, Status

from assina.api.errors import not_found
from assina.api.schemas import Input, Timestamp
from assina.customers.services import CustomerError

from . import services

router = Router(tags=["customer portal"])


class PortalSessionCreate(Input):
    customer: str = Field(max_length=254, examples=["cus_1", "ana@example.com"], description="the customer's id or e-mail")
    flow: Literal["cancel", "update_payment_method", "change_plan", "switch_to_annual"] | None = Field(
        None, description="the portal opens with this part in focus (the flows themselves come next: docs/portal.md)")
    return_url: str | None = Field(None, max_length=2000, description="where the portal's “Back” link leads (http or https)")


class PortalSessionOut(Schema):
    object: str = "portal_session"
    url: str = Field(description="single use; hand it to the customer (it shows a button that signs them in)")
    expires_at: Timestamp


@router.post("", response={201: PortalSessionOut}, summary="Create a portal link",
             description="A signed, single-use link to the customer portal for one customer, valid 24 hours. "
                         "Opening it starts a portal session (idle timeout one hour).")
def create(request, payload: PortalSessionCreate):
    try:
        customer = services.find_customer(payload.customer)
    except CustomerError:
        raise not_found("customer", payload.customer) from None
    link, url = services.create_link(customer, flow=payload.flow or "", return_url=payload.return_url or "")
    return Status(201, {"url": url, "expires_at": link.expires_at})
