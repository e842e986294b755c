"""The customer workspace in headless Chromium (issue 20), in English and then in Portuguese:
the owner signs in, goes from the dashboard to the customer list, filters it by health band,
opens a customer, reads the summary and the timeline, and acts (a note at once; a pause, then a
cancellation, each after its confirmation), and deletes a saved segment after its confirmation
(in Portuguese, one a campaign uses: refused, naming the campaign). Screenshots at 1366 px and 390 px go to
/tmp/shots/workspace/; on a phone nothing scrolls sideways; no Content-Security-Policy
violation and no failed request."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.engagement.services import EventRow, add_note, record_events
from assina.feedback.services import record_response
from assina.notifications.models import Campaign, Segment
from assina.subscriptions.models import Subscription
from assina.success.models import HealthScore
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/workspace")
PASSWORD = "workspace-pass-1"
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
WORDS = {
    "en": {"title": "Customers", "band": "31 · At risk", "paused": "Subscription paused.", "note": "Note added.",
           "canceled": "Cancellation scheduled for the end of the paid period.", "risk": "Churn risk (30 days)",
           "segment": "Old list", "deleted": "Segment “Old list” deleted."},
    "pt-BR": {"title": "Clientes", "band": "31 · Em risco", "paused": "Assinatura pausada.", "note": "Nota adicionada.",
              "canceled": "Cancelamento agendado para o fim do período pago.", "risk": "Risco de cancelamento (30 dias)",
              "segment": "Em risco", "deleted": "a campanha “Reconquista”"},
}


def _shop():
    start_clock(utc(2027, 3, 1, 9))
    make_plan("basic", 3000, name="Basic")
    make_plan("pro", 9000, name="Pro")
    people = {}
    for i, (name, plan, band, score, churn, nps) in enumerate([
            ("Ana Souza", "pro", "healthy", 84, 0.04, 10), ("Bruno Lima", "basic", "at_risk", 31, 0.58, 3),
            ("Carla Dias", "pro", "watch", 55, 0.21, 7), ("Davi Rocha", "basic", None, None, None, None)]):
        customer = make_customer(name=name, email=f"{name.split()[0].lower()}@example.com", country="BR",
                                 locale="pt-BR" if i % 2 else "en")
        subscribe(customer, plan)
        people[name] = customer
    start_clock(utc(2027, 5, 20, 9))
    at = now()
    for i, (name, plan, band, score, churn, nps) in enumerate([
            ("Ana Souza", "pro", "healthy", 84, 0.04, 10), ("Bruno Lima", "basic", "at_risk", 31, 0.58, 3),
            ("Carla Dias", "pro", "watch", 55, 0.21, 7)]):
        HealthScore.objects.update_or_create(customer=people[name], defaults=dict(
            score=score, band=band, churn_probability=churn, computed_at=at,
            reasons=[{"code": "usage_down", "value": 60}, {"code": "detractor", "month": 202705}] if band == "at_risk" else []))
        record_response(customer=people[name], survey="nps", score=nps, submitted_at=at - timedelta(days=4 + i),
                        comment="Support takes days to answer" if nps < 7 else "", source="api", at=at)
    bruno = people["Bruno Lima"]
    record_events([EventRow(f"b{d}", bruno.pk, "report_exported", at - timedelta(days=d)) for d in (2, 9, 30)])
    add_note(bruno, body="Asked how to export reports", kind="call", occurred_at=at - timedelta(days=1))
    Segment.objects.create(name="Old list", countries=["BR"], created_at=at)
    Campaign.objects.create(name="Reconquista", created_at=at, subject_en="Hi", html_en="<p>Hi</p>",
                            segment=Segment.objects.create(name="Em risco", health_bands=["at_risk"], created_at=at))
    return people


def _shot(page, name: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
    if width <= 390:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name  # no sideways scrolling
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def test_the_owner_filters_opens_a_customer_and_acts_in_both_languages(live_server, browser_context, django_user_model):
    people = _shop()
    bruno = people["Bruno Lima"]
    sub = Subscription.objects.get(customer=bruno)
    django_user_model.objects.create_user("owner", password=PASSWORD, is_staff=True, is_superuser=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser_context.add_init_script(WATCH)
    problems: list[str] = []
    page = browser_context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(live_server.url + "/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#link-workspace")
    page.click("#link-workspace")  # from the dashboard

    for locale in ("en", "pt-BR"):
        words = WORDS[locale]
        if locale != "en":
            page.select_option("#assina-language-select", "pt-br")
            page.click("#assina-language button")
            page.goto(live_server.url + "/workspace/customers/")
        page.wait_for_selector("#ws-customers")
        assert page.inner_text("h1") == words["title"]
        assert page.locator("#ws-customers tbody tr").count() == 4
        _shot(page, f"list-{locale}", 1366)
        _shot(page, f"list-{locale}", 390)
        page.set_viewport_size({"width": 1366, "height": 900})
        if not page.locator("details.ws-filters[open]").count():
            page.click("details.ws-filters summary")
        page.check("input[name=health][value=at_risk]")
        page.click("details.ws-filters button[type=submit]")
        page.wait_for_selector("#ws-customers")
        rows = page.locator("#ws-customers tbody tr")
        assert rows.count() == 1 and words["band"] in rows.first.inner_text()
        page.click("#ws-customers a:text('Bruno Lima')")
        page.wait_for_selector("#ws-timeline")
        assert words["risk"] in page.text_content("#ws-summary") and "58 %" in page.text_content("#ws-summary")
        assert "Asked how to export reports" in page.inner_text("#ws-timeline")
        _shot(page, f"customer-{locale}", 1366)
        _shot(page, f"customer-{locale}", 390)
        page.set_viewport_size({"width": 1366, "height": 900})
        page.click("#ws-note summary")
        page.fill("#ws-note textarea[name=body]", f"Owner note ({locale})")
        page.click("#ws-note button[type=submit]")
        page.wait_for_selector(".messagelist .success")
        assert words["note"] in page.inner_text(".messagelist")
        assert f"Owner note ({locale})" in page.inner_text("#ws-timeline")
        if locale == "en":
            page.click("form[action$='/pause/'] >> xpath=.. >> summary")
            page.click("form[action$='/pause/'] button")
        else:
            page.click("form[action$='/cancel/'] >> xpath=.. >> summary")
            page.click("form[action$='/cancel/'] button")
        page.wait_for_selector("#ws-confirm")
        _shot(page, f"confirm-{locale}", 390)
        page.click("#ws-confirm-button")
        page.wait_for_selector(".messagelist .success")
        assert (words["paused"] if locale == "en" else words["canceled"]) in page.inner_text(".messagelist")
        if locale == "en":
            assert Subscription.objects.get(pk=sub.pk).status == "paused"
            page.click("form[action$='/resume/'] >> xpath=.. >> summary")
            page.click("form[action$='/resume/'] button")
            page.click("#ws-confirm-button")
            page.wait_for_selector(".messagelist .success")
        # A saved segment: deleted after its confirmation, or refused while a campaign uses it.
        page.goto(live_server.url + f"/workspace/customers/?segment={Segment.objects.get(name=words['segment']).pk}")
        _shot(page, f"segment-{locale}", 390)
        page.set_viewport_size({"width": 1366, "height": 900})
        page.click("#ws-segment-delete button")
        page.wait_for_selector("#ws-confirm")
        _shot(page, f"segment-delete-{locale}", 1366)
        _shot(page, f"segment-delete-{locale}", 390)
        if locale == "en":
            page.click("#ws-confirm-button")
            page.wait_for_selector(".messagelist .success")
        assert words["deleted"] in page.inner_text("body")
        page.goto(live_server.url + "/workspace/customers/")
    assert Subscription.objects.get(pk=sub.pk).cancel_at_period_end
    assert list(Segment.objects.values_list("name", flat=True)) == ["Em risco"]
    problems.extend(page.evaluate("window.__violations"))
    assert not problems, problems
