"""/checkout_sessions: a hosted checkout for one plan, like Stripe Checkout. Mounted by
``assina.api.main`` at "" (each path carries its full prefix).

``POST /checkout_sessions`` returns ``{id, url, expires_at}``: send the buyer to ``url``; after
paying they go to ``success_url`` (``{CHECKOUT_SESSION_ID}`` in it is replaced by the id), or back
to ``cancel_url``. ``GET /checkout_sessions/{id}`` tells the business's server how it ended.
"""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from assina.api.errors import not_found
from assina.api.ids import ident
from assina.api.schemas import Input, Timestamp

from . import services
from .models import CheckoutSession

router = Router(tags=["checkout"])


class CheckoutSessionCreate(Input):
    plan: str = Field(min_length=1, max_length=64, description="an active plan's code (public or not)")
    success_url: str = Field("", max_length=2000, description="where the buyer goes after paying; "
                                                              "{CHECKOUT_SESSION_ID} is replaced by the session's id")
    cancel_url: str = Field("", max_length=2000, description="where the page's Back link goes")
    customer_email: str = Field("", max_length=254, description="fills in the e-mail field")
    promotion_code: str = Field("", max_length=64, description="fills in the promotion code (checked now)")
    addons: list[str] = Field([], max_length=3, description="add-on codes ticked on the page (at most three)")


class CheckoutSessionOut(Schema):
    id: str = Field(examples=["cs_9Xz…"])
    object: str = "checkout_session"
    url: str
    plan: str
    status: Literal["open", "processing", "complete", "expired"]
    outcome: Literal["", "subscribed", "existing_customer"] = Field(
        description="subscribed: a new customer and subscription; existing_customer: the e-mail was already a "
                    "customer's, nothing was charged and a sign-in link was mailed")
    customer: str | None
    subscription: str | None
    customer_email: str
    promotion_code: str
    addons: list[str]
    success_url: str
    cancel_url: str
    expires_at: Timestamp
    created_at: Timestamp
    completed_at: Timestamp | None


def session_out(session: CheckoutSession) -> dict:
    status = "expired" if services.expired(session) else session.status
    return {"id": session.key, "url": f"{settings.ASSINA_BASE_URL}/checkout/s/{session.key}/", "plan": session.plan.code,
            "status": status, "outcome": session.outcome, "customer": ident("cus_", session.customer_id),
            "subscription": ident("sub_", session.subscription_id), "customer_email": session.customer_email,
            "promotion_code": session.promotion_code, "addons": list(session.addons), "success_url": session.success_url,
            "cancel_url": session.cancel_url, "expires_at": session.expires_at, "created_at": session.created_at,
            "completed_at": session.completed_at}


@router.post("/checkout_sessions", response={201: CheckoutSessionOut}, summary="Create a checkout session",
             description="A hosted checkout page for one plan: the buyer gives e-mail, name, tax id (CPF/CNPJ for a "
                         "BRL plan), the shipping address when the plan ships goods, and a card; the customer and the "
                         "subscription are made once, however often the page is submitted.")
def create(request, body: CheckoutSessionCreate):
    session = services.create_session(plan_code=body.plan, success_url=body.success_url, cancel_url=body.cancel_url,
                                      customer_email=body.customer_email, promotion_code=body.promotion_code,
                                      addons=body.addons)
    return Status(201, session_out(session))


@router.get("/checkout_sessions/{session_id}", response=CheckoutSessionOut, summary="Get a checkout session")
def get(request, session_id: str):
    session = services.get_session(session_id)
    if session is None:
        raise not_found(_("checkout session"), session_id)
    return session_out(session)
