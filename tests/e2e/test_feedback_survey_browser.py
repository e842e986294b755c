"""A survey end to end (issue 17): the job sends the NPS survey 30 days after signup over real
SMTP (aiosmtpd); a link scanner's fetch records nothing; a person's click in headless Chromium
(390 px, English and Portuguese) records the score once, the comment arrives on the same
response, a second click changes its score; the 90-day throttle holds under the test clock. No
Content-Security-Policy violation (the page's auto-submit script carries its nonce)."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
from email_support import links, parts, smtp_server
from factories import advance, make_customer, start_clock, utc

from assina.feedback.models import SurveyRequest, SurveyResponse
from assina.notifications.jobs import run as mail_run
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/feedback")
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
WORDS = {"en": ("What is the main reason for your score?", "Thank you!"),
         "pt-BR": ("Qual é o principal motivo da sua nota?", "Obrigado!")}


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_survey_by_email_click_comment_and_throttle(live_server, browser_context, settings, locale):
    SHOTS.mkdir(parents=True, exist_ok=True)
    settings.ASSINA_BASE_URL = live_server.url
    start_clock(utc(2027, 3, 1, 9))
    from assina.feedback.models import SurveySettings

    SurveySettings.objects.update_or_create(pk=1, defaults={"after_signup": True})
    customer = make_customer(name="Ana Souza", email=f"ana-{locale.lower()}@example.com", locale=locale, card=None)
    with smtp_server() as (inbox, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        advance(utc(2027, 3, 31, 10))
        mail_run(now(), at_due_time=False)
        [message] = [m for m in inbox.to(customer.email) if "recommend" in m["Subject"] or "recomendar" in m["Subject"]]
    _text, html = parts(message)
    scores = [u for u in links(html) if re.search(r"/s/[^/]+/\d+/$", u)]
    assert len(scores) == 11 and any(u.endswith("/opt-out/") for u in links(html))

    for url in scores:  # a link scanner fetches every link: nothing is recorded
        with urllib.request.urlopen(url) as answer:
            assert answer.status == 200
    assert SurveyResponse.objects.count() == 0

    browser_context.add_init_script(WATCH)
    page = browser_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(scores[6])  # the person clicks 6
    page.wait_for_selector("#score-saved")
    question, thanks = WORDS[locale]
    assert question in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / f"comment-{locale}.png"), full_page=True)
    page.fill("#comment", "Support is slow" if locale == "en" else "O suporte demora")
    page.click("form[action$='/comment/'] button")
    page.wait_for_selector("h1")
    assert thanks in page.inner_text("h1")
    page.goto(scores[9])  # a second click: the same response, a new score
    page.wait_for_selector("#score-saved")
    assert page.evaluate("window.__violations") == []
    response = SurveyResponse.objects.get()
    assert (response.score, response.source) == (9, "email")
    assert response.comment in ("Support is slow", "O suporte demora")

    # The throttle: a manual NPS 60 days later is not sent; 91 days after the first, it is.
    from assina.feedback import sending

    advance(utc(2027, 5, 30, 10))
    assert sending.send([(customer, "manual:e2e:1")], "nps", "manual", now()) == 0
    advance(utc(2027, 6, 30, 11))
    assert sending.send([(customer, "manual:e2e:2")], "nps", "manual", now()) == 1
    assert SurveyRequest.objects.filter(customer=customer).count() == 2
