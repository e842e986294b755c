"""The small cards on the portal's home, above the account: a survey due today, and whatever
another app wants to put in front of a customer (a purchase suggestion, a price change to
choose, a delivery to skip).

A card is a function ``card(home: Home) -> str``: the card's HTML (safe, in the active language:
it runs inside the customer's ``translation.override``), or "" when it has nothing to show. Add
yours to ``CARDS`` (the order is the page's). This module is part of the portal's views (an entry
point), so a card may call any app (the portal's own modules sit below feedback, upgrades,
repricing...). Cards are made on **every** request, outside the account part the home keeps
between visits (``portal.home``), so a card never needs its tables in the home's stamps and is
never stale; in exchange it must be cheap: one short query, and the page's query budget in
``tests/integration/test_portal_queries.py`` goes up by one with it. A POST from a card goes to
the card's own view (with ``{% csrf_token %}``: ``home.request`` is there for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest
from django.template.loader import render_to_string

from assina.feedback.models import Survey
from assina.feedback.sending import scale, score_url
from assina.notifications.rendering import branding

from assina.feedback.queries import due_survey
from assina.portal.queries import HomeSession


@dataclass(frozen=True)
class Home:
    request: HttpRequest
    session: HomeSession  # the customer's id, name, e-mail, locale
    language: str  # "en" or "pt-br", already active
    at: datetime  # assina.time.now()


def survey(home: Home) -> str:
    """The customer's open survey (``feedback.sending.due_survey_for``, as one fixed statement:
    ``feedback.queries.due_survey``): the question and its scores, each a link that records it
    (``/s/<token>/<score>/``)."""
    due = due_survey(home.session.customer_id, home.at)
    if due is None:
        return ""
    token, kind = due
    return render_to_string("portal/cards/survey.html", {
        "business": branding(), "nps": kind == Survey.NPS, "scores": [{"score": n, "url": score_url(token, n)} for n in scale(kind)]})


CARDS = (survey,)


def cards(home: Home) -> list[str]:
    return [html for html in (card(home) for card in CARDS) if html]
