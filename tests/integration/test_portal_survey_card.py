"""The portal's home shows a small survey card when one is due (issue 17, "Surveys": "in the
customer portal (a small card, when one is due)"): the question and its scores in the
customer's language, each score a link that records it (``/s/<token>/<score>/``, the survey
pages of ``assina.feedback``); nothing when none is due or once it is answered."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from factories import make_customer, make_plan, start_clock, subscribe, utc
from portal_support import signed_in as _signed_in

from assina.feedback.models import Survey, SurveyRequest, SurveyResponse, Trigger
from assina.feedback.sending import send
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (auth, sessions)

SCORE_LINK = re.compile(r'<a href="(http://[^"]+/s/([^/"]+)/(\d+)/)">(\d+)</a>')




def _home(client: Client) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/portal/")
    assert response.status_code == 200
    return response.content.decode().replace("\xa0", " "), len(captured.captured_queries)


@pytest.fixture
def customers():
    start_clock(utc(2027, 3, 1, 12))
    make_plan("pro", 4990, name="Pro")
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    bia = make_customer(email="bia@example.com", name="Bia Lima", locale="pt-BR")
    for customer in (ana, bia):
        subscribe(customer, "pro")
    return ana, bia


def test_a_due_survey_shows_its_card_whose_links_record_the_score(customers):
    ana, bia = customers
    client = _signed_in(bia)
    page, _queries = _home(client)
    assert 'id="survey"' not in page and "/s/" not in page  # none due: no card
    _home(client)
    _page, kept = _home(client)
    send([(bia, "manual:bia"), (ana, "manual:ana")], Survey.NPS, Trigger.MANUAL, now())
    request = SurveyRequest.objects.get(customer=bia)

    _home(client)  # sending it was an event of hers: the account part is made again once
    page, queries = _home(client)
    assert queries == kept  # the card's one query runs on every home, due or not
    assert "Qual a probabilidade de você recomendar" in page  # the customer's language
    links = SCORE_LINK.findall(page)
    assert [int(score) for _url, _token, score, _label in links] == list(range(11))
    assert {token for _url, token, _score, _label in links} == {request.token}  # hers, not Ana's
    assert all(score == label for _url, _token, score, label in links)

    url = urlsplit(links[9][0]).path  # a person clicks 9: the page that records it (feedback's own)
    survey_page = client.get(url)
    assert survey_page.status_code == 200 and not SurveyResponse.objects.exists()  # a GET records nothing
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', survey_page.content.decode()).group(1)
    assert client.post(f"/s/{request.token}/", {"csrfmiddlewaretoken": token, "score": "9"}).status_code == 302
    assert SurveyResponse.objects.get().score == 9 and SurveyResponse.objects.get().request == request

    page, _queries = _home(client)
    assert 'id="survey"' not in page and "/s/" not in page  # answered: no card


def test_a_csat_survey_shows_five_scores_in_english(customers):
    ana, _bia = customers
    client = _signed_in(ana)
    send([(ana, "support:1")], Survey.CSAT, Trigger.SUPPORT, now())
    page, _queries = _home(client)
    assert "How satisfied are you with" in page and "Very satisfied" in page
    assert [int(score) for *_rest, score, _label in SCORE_LINK.findall(page)] == [1, 2, 3, 4, 5]
