"""The survey pages a customer reaches from a survey e-mail, and the owner's Feedback page.

Scanner-proof links: a GET never records anything. ``/s/<token>/<score>/`` answers a page
whose form POSTs the score; a small script (with the page's CSP nonce) submits it as soon as
the page is shown to a person, and a visible button does the same without JavaScript. A link
scanner that only fetches the URL records nothing; the POST carries Django's CSRF token, so a
third party cannot post a score either. The response is one per survey: a later click
changes its score.
"""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assina.notifications.rendering import branding, message_locale
from assina.time import now

from .. import services
from ..models import Survey, SurveyResponse
from ..sending import scale


def _language(customer) -> str:
    return "pt-br" if customer is not None and message_locale(customer.locale) == "pt-BR" else "en"


def _page(request, template: str, survey_request, context: dict, status: int = 200):
    customer = survey_request.customer if survey_request is not None else None
    language = _language(customer)
    with translation.override(language):
        return render(request, f"feedback/{template}", {"business": branding(), "lang": language,
                                                         "survey_request": survey_request, **context}, status=status)


def _gone(request):
    return _page(request, "survey_message.html", None,
                 {"title": _("This survey link no longer works"),
                  "text": _("It may have expired. Thank you for wanting to answer.")}, status=404)


def _question(survey: str) -> str:
    if survey == Survey.NPS:
        return _("How likely are you to recommend %(business)s to a friend or colleague?") % {"business": branding()["name"]}
    return _("How satisfied are you with %(business)s?") % {"business": branding()["name"]}


@require_GET
def score_link(request, token: str, score: int):
    survey_request = services.open_request(token, now())
    if survey_request is None:
        return _gone(request)
    if score not in scale(survey_request.survey):
        return _gone(request)
    return _page(request, "survey_confirm.html", survey_request, {"score": score, "question": _question(survey_request.survey)})


@require_http_methods(["GET", "POST"])
def survey(request, token: str):
    survey_request = services.open_request(token, now())
    if survey_request is None:
        return _gone(request)
    with translation.override(_language(survey_request.customer)):
        error = ""
        if request.method == "POST":
            try:
                score = int(request.POST.get("score", ""))
                services.answer(survey_request, score, now())
                return HttpResponseRedirect(f"/s/{token}/")  # 302: the comment page, by GET
            except (ValueError, services.FeedbackError):
                error = _("Choose one of the scores.")
        response = SurveyResponse.objects.filter(request=survey_request).first()
        return _page(request, "survey_comment.html", survey_request, {
            "response": response, "scores": list(scale(survey_request.survey)), "error": error,
            "question": _question(survey_request.survey), "saved": request.GET.get("saved") == "1",
            "low_label": _("Not at all likely") if survey_request.survey == Survey.NPS else _("Very dissatisfied"),
            "high_label": _("Extremely likely") if survey_request.survey == Survey.NPS else _("Very satisfied"),
        }, status=422 if error else 200)


@require_POST
def comment(request, token: str):
    survey_request = services.open_request(token, now())
    if survey_request is None:
        return _gone(request)
    with translation.override(_language(survey_request.customer)):
        try:
            services.comment_on(survey_request, request.POST.get("comment", ""), now())
        except services.FeedbackError as exc:
            return _page(request, "survey_message.html", survey_request, {"title": _("Not saved"), "text": str(exc)},
                         status=422)
        return _page(request, "survey_message.html", survey_request,
                     {"title": _("Thank you!"), "text": _("Your answer was saved. You can change it with the same link.")})


@require_http_methods(["GET", "POST"])
def opt_out(request, token: str):
    from ..models import SurveyRequest

    # Opting out works as long as the link is genuine, even after the survey expired.
    survey_request = SurveyRequest.objects.select_related("customer").filter(token=token).first()
    if survey_request is None:
        return _gone(request)
    with translation.override(_language(survey_request.customer)):
        if request.method == "POST":
            services.opt_out(survey_request.customer_id, now())
            return _page(request, "survey_message.html", survey_request,
                         {"title": _("You will get no more surveys"), "text": _("We will not ask for your opinion by e-mail again.")})
        return _page(request, "survey_opt_out.html", survey_request, {})
