"""/survey_responses and /metrics/feedback. Mounted by ``assina.api.main``.

``POST /survey_responses`` is idempotent twice over: the API's ``Idempotency-Key`` replays a
retried request, and the response itself is unique by (customer, survey, submitted_at, source):
the same response posted again answers 200 with the stored one and changes nothing.
"""

from __future__ import annotations

from typing import Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from assina.api.errors import ApiProblem
from assina.api.ids import ident
from assina.api.schemas import Input, Timestamp
from assina.customers.models import Customer
from assina.time import now

from .models import SurveyResponse

router = Router(tags=["feedback"])
metrics = Router(tags=["metrics"])
PREFIX = "sr_"


class ResponseIn(Input):
    customer: str | None = Field(None, max_length=40, examples=["cus_1"])
    customer_email: str | None = Field(None, max_length=254, examples=["ana@example.com"])
    survey: Literal["nps", "csat", "note"] = Field(description="nps (0–10), csat (1–5), or note: a comment without a "
                                                              "score (a support note, a cancellation reason)")
    score: int | None = Field(None, ge=0, le=10)
    comment: str = Field("", max_length=5000)
    submitted_at: Timestamp | None = Field(None, description="when the customer answered (default: now)")
    source: Literal["api", "support", "portal", "import"] = "api"
    tags: list[str] = Field(default_factory=list, max_length=20)


class ResponseOut(Schema):
    id: str = Field(examples=["sr_1"])
    object: str = "survey_response"
    customer: str
    survey: str
    score: int | None
    category: str | None = Field(description="promoter, passive or detractor (NPS only)")
    comment: str
    submitted_at: Timestamp
    source: str
    tags: list[str]
    themes: list[str]


def response_out(r: SurveyResponse) -> dict:
    from assina.core.nps import category

    return {"id": ident(PREFIX, r.pk), "customer": ident("cus_", r.customer_id), "survey": r.survey, "score": r.score,
            "category": category(r.score) if r.survey == "nps" and r.score is not None else None,
            "comment": r.comment, "submitted_at": r.submitted_at, "source": r.source, "tags": r.tags,
            "themes": sorted(a.theme.slug for a in r.theme_assignments.select_related("theme"))}


def _customer(body: ResponseIn) -> Customer:
    if bool(body.customer) == bool(body.customer_email):
        raise ApiProblem(422, "parameter_invalid", _("give either customer or customer_email"))
    if body.customer:
        from assina.customers.api import load_customer

        return load_customer(body.customer)
    found = Customer.objects.filter(email__iexact=body.customer_email.strip(), erased_at__isnull=True).first()
    if found is None:
        raise ApiProblem(404, "resource_missing", _("no customer with e-mail %(email)s") % {"email": body.customer_email})
    return found


@router.post("", response={200: ResponseOut, 201: ResponseOut}, summary="Record a survey response",
             description="Brings in an NPS or CSAT answer (or a note: a support conversation's comment) from another "
                         "tool. The same (customer, survey, submitted_at, source) again answers 200 with the stored "
                         "response and changes nothing.")
def create(request, body: ResponseIn):
    from .services import record_response

    customer = _customer(body)
    at = now()
    result = record_response(customer=customer, survey=body.survey, score=body.score, comment=body.comment,
                             submitted_at=body.submitted_at or at, source=body.source, tags=body.tags, at=at)
    return Status(201 if result.created else 200, response_out(result.response))


class SupportIn(Input):
    customer: str | None = Field(None, max_length=40)
    customer_email: str | None = Field(None, max_length=254)
    reference: str = Field(min_length=1, max_length=120, description="your ticket or conversation id: one CSAT "
                                                                    "survey per reference")
    survey: Literal["csat", "nps"] = "csat"


class SupportOut(Schema):
    sent: bool = Field(description="false when the survey was not sent: already sent for this reference, the "
                                   "customer opted out, or (NPS) throttled")
    reason: str


@router.post("/support_interactions", response={200: SupportOut}, summary="Tell Assina a support interaction ended",
             description="Sends the customer a CSAT survey about it (once per reference), when the owner turned "
                         "that trigger on.")
def support_interaction(request, body: SupportIn):
    from .sending import survey_after_support

    customer = _customer(body)  # type: ignore[arg-type]
    sent, reason = survey_after_support(customer, body.reference, body.survey, now())
    return {"sent": sent, "reason": reason}


class ReportQuery(Schema):
    from_: str | None = Field(None, alias="from", description="first month, 2027-01 (or a date)")
    to: str | None = Field(None, description="last month, 2027-06 (or a date)")
    plan: str | None = Field(None, max_length=60)


@metrics.get("/feedback", response=dict, summary="NPS, CSAT, response rate and themes",
             description="NPS with its counts, CSAT, the response rate, by month, plan, country, locale, cohort "
                         "and health band, and the ranked pain-point themes.")
def feedback_metrics(request, query: Query[ReportQuery]):
    from .reports import ReportError, feedback_report
    from .themes import ranked_themes

    try:
        report = feedback_report(since=query.from_, until=query.to, plan=query.plan)
    except ReportError as exc:
        raise ApiProblem(422, "parameter_invalid", str(exc)) from None
    from assina.success.feedback_bands import by_health_band

    report["by_health_band"] = by_health_band(report["from"], report["to"], query.plan)
    report["themes"] = ranked_themes(since=report["from"], until=report["to"], examples=2)
    return report

