"""Surveys and responses (issue 17): the API and the CSV import (bad rows, idempotency), the
survey e-mail's score links (a person's click records, a scanner's fetch does not, a second
click changes the same response), the comment, the opt-out, the triggers and the throttle,
the cancel flow's words as feedback, the report (API, CLI, page)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from api_support import api, problem  # noqa: F401 (the api fixture)
from django.contrib.auth.models import Permission, User
from django.test import Client
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.feedback import jobs, sending
from assina.feedback.models import SurveyOptOut, SurveyRequest, SurveyResponse, SurveySettings
from assina.notifications.models import Message
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)  # page requests need every app (auth, sessions)


@pytest.fixture
def people():
    start_clock(utc(2027, 3, 1, 9))
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="pt-BR", country="BR", card=None)
    bob = make_customer(email="bob@example.com", name="Bob Lee", locale="en", country="US", card=None)
    return ana, bob


# --- API ----------------------------------------------------------------------------------------

def test_the_api_records_a_response_once_by_customer_or_email(api, people):
    ana, bob = people
    body = {"customer_email": "ANA@example.com", "survey": "nps", "score": 6, "comment": "O suporte demora",
            "submitted_at": "2027-02-10T12:00:00Z", "tags": ["zendesk"]}
    first = api.post("/survey_responses", body)
    assert first.status_code == 201, first.content
    created = first.json()
    assert created["category"] == "detractor" and created["customer"] == f"cus_{ana.pk}" and created["tags"] == ["zendesk"]
    again = api.post("/survey_responses", {**body, "comment": "changed"})  # the same response: nothing changes
    assert again.status_code == 200 and again.json()["id"] == created["id"] and again.json()["comment"] == "O suporte demora"
    assert SurveyResponse.objects.count() == 1
    by_id = api.post("/survey_responses", {"customer": f"cus_{bob.pk}", "survey": "csat", "score": 5,
                                           "submitted_at": "2027-02-11T12:00:00Z"})
    assert by_id.status_code == 201 and by_id.json()["category"] is None
    # The API's Idempotency-Key replays a retry too.
    replay = api.post("/survey_responses", {**body, "submitted_at": "2027-02-12T12:00:00Z"}, key="k1")
    assert api.post("/survey_responses", {**body, "submitted_at": "2027-02-12T12:00:00Z"}, key="k1")["Idempotent-Replayed"] == "true"
    assert replay.status_code == 201 and SurveyResponse.objects.count() == 3


def test_the_api_refuses_bad_responses_and_changes_nothing(api, people):
    problem(api.post("/survey_responses", {"customer_email": "ana@example.com", "survey": "csat", "score": 6}),
            422, "feedback_error")
    problem(api.post("/survey_responses", {"customer_email": "ana@example.com", "survey": "nps", "score": 11}),
            422, "validation_error")
    problem(api.post("/survey_responses", {"survey": "nps", "score": 5}), 422, "parameter_invalid")
    problem(api.post("/survey_responses", {"customer_email": "nobody@example.com", "survey": "nps", "score": 5}),
            404, "resource_missing")
    problem(api.post("/survey_responses", {"customer_email": "ana@example.com", "survey": "note", "score": 5,
                                           "comment": "x"}), 422, "feedback_error")
    assert SurveyResponse.objects.count() == 0


# --- CSV import -------------------------------------------------------------------------------

def _import(tmp_path, capsys, text: str) -> tuple[int, dict]:
    from assina.cli import main

    path = tmp_path / "responses.csv"
    path.write_text(text, encoding="utf-8")
    code = main(["feedback", "import", str(path), "--json"])
    captured = capsys.readouterr()
    return code or 0, json.loads(captured.out or captured.err)


def test_the_import_reports_bad_rows_by_line_and_imports_nothing(tmp_path, capsys, people):
    code, body = _import(tmp_path, capsys, "email,survey,score,comment,submitted_at\n"
                                           "ana@example.com,nps,9,Ótimo,2027-01-05T10:00:00Z\n"
                                           "bob@example.com,nps,11,,2027-01-05\n"
                                           "zoe@example.com,csat,4,,2027-01-06\n"
                                           "bob@example.com,csat,three,,yesterday\n")
    assert code == 2
    assert "line 3" in body["error"] and "line 4" in body["error"] and "line 5" in body["error"]
    assert "line 2" not in body["error"]
    assert SurveyResponse.objects.count() == 0


def test_the_import_brings_responses_in_and_again_changes_nothing(tmp_path, capsys, people):
    text = ("email,survey,score,comment,submitted_at\n"
            "ana@example.com,nps,9,\"Ótimo, recomendo\",2027-01-05T10:00:00Z\n"
            "bob@example.com,csat,2,Slow replies,2027-01-06\n")
    assert _import(tmp_path, capsys, text) == (0, {"imported": 2, "unchanged": 0, "errors": []})
    before = list(SurveyResponse.objects.order_by("pk").values())
    assert _import(tmp_path, capsys, text) == (0, {"imported": 0, "unchanged": 2, "errors": []})
    assert list(SurveyResponse.objects.order_by("pk").values()) == before
    assert before[0]["comment"] == "Ótimo, recomendo" and before[0]["source"] == "import"


# --- the survey e-mail's links --------------------------------------------------------------

def _survey(customer, survey="nps") -> SurveyRequest:
    sent = sending.send([(customer, f"manual:test:{customer.pk}:{survey}")], survey, "manual", now())
    assert sent == 1
    return SurveyRequest.objects.get(customer=customer, survey=survey)


def _links(customer) -> list[str]:
    message = Message.objects.filter(customer=customer, template__startswith="survey_").latest("id")
    return [urlsplit(u).path for u in re.findall(r'href="([^"]+/s/[^"]+)"', message.html)]


def _click(client: Client, path: str):
    """What a person's browser does: open the link, then the page's script posts its form."""
    page = client.get(path)
    assert page.status_code == 200
    form = re.search(r'<form id="score-form" method="post" action="([^"]+)">.*?name="csrfmiddlewaretoken" value="([^"]+)"'
                     r'.*?name="score" value="(\d+)"', page.content.decode(), re.S)
    assert form, page.content.decode()
    return client.post(form.group(1), {"csrfmiddlewaretoken": form.group(2), "score": form.group(3)})


def test_the_email_has_eleven_score_links_and_an_opt_out_in_the_customers_language(people):
    ana, bob = people
    _survey(ana)
    _survey(bob, "csat")
    pt = Message.objects.get(customer=ana)
    assert pt.subject.startswith("Qual a chance") and pt.kind == "transactional" and pt.status == "queued"
    links = _links(ana)
    assert [p.rsplit("/", 2)[-2] for p in links[:11]] == [str(n) for n in range(11)] and links[11].endswith("/opt-out/")
    assert "Parar as pesquisas" in pt.html
    assert [p.rsplit("/", 2)[-2] for p in _links(bob)[:5]] == ["1", "2", "3", "4", "5"]


def test_a_scanner_that_fetches_records_nothing_a_click_records_once_and_a_second_click_changes_it(people):
    ana, _bob = people
    request = _survey(ana)
    links = _links(ana)
    scanner = Client()
    for path in links[:11]:  # a link scanner fetches every URL in the message
        assert scanner.get(path).status_code == 200
    assert SurveyResponse.objects.count() == 0
    person = Client(enforce_csrf_checks=True)
    answered = _click(person, links[7])
    assert answered.status_code == 302 and answered["Location"] == f"/s/{request.token}/"
    response = SurveyResponse.objects.get()
    assert (response.score, response.source, response.request_id) == (7, "email", request.pk)
    page = person.get(answered["Location"]).content.decode()
    assert "Qual é o principal motivo da sua nota?" in page and 'class="chosen" aria-pressed="true">7<' in page
    _click(person, links[3])  # a second click: the same response, the new score
    assert list(SurveyResponse.objects.values_list("pk", "score")) == [(response.pk, 3)]
    # The comment arrives on the same response.
    token = re.search(r'action="/s/[^/]+/comment/">.*?value="([^"]+)"', person.get(f"/s/{request.token}/").content.decode(), re.S)
    saved = person.post(f"/s/{request.token}/comment/", {"csrfmiddlewaretoken": token.group(1), "comment": "O app trava"})
    assert saved.status_code == 200 and "Obrigado" in saved.content.decode()
    assert SurveyResponse.objects.get().comment == "O app trava"
    # A POST without the CSRF token records nothing.
    assert Client(enforce_csrf_checks=True).post(f"/s/{request.token}/", {"score": "10"}).status_code == 403
    assert SurveyResponse.objects.get().score == 3
    assert Client().get(f"/s/{request.token}/11/").status_code == 404
    assert Client().get("/s/forged-token/5/").status_code == 404


def test_opt_out_stops_surveys(people):
    ana, _bob = people
    request = _survey(ana)
    client = Client()
    assert client.get(f"/s/{request.token}/opt-out/").status_code == 200 and not SurveyOptOut.objects.exists()
    assert client.post(f"/s/{request.token}/opt-out/").status_code == 200
    assert SurveyOptOut.objects.filter(customer=ana).exists()
    assert sending.send([(ana, "manual:again")], "csat", "manual", now()) == 0


# --- triggers and throttle ------------------------------------------------------------------

def test_signup_trigger_and_the_90_day_nps_throttle_under_the_test_clock(people):
    from factories import advance

    ana, bob = people
    SurveySettings.objects.update_or_create(pk=1, defaults={"after_signup": True})
    advance(utc(2027, 3, 31, 10))  # 30 days after signup: the job sends one NPS each
    assert set(SurveyRequest.objects.values_list("customer_id", "trigger")) == {(ana.pk, "signup"), (bob.pk, "signup")}
    assert jobs.run(now(), at_due_time=False) == {}  # once per trigger, however often the job runs
    # A manual NPS to a segment 40 days later is throttled; a CSAT is not.
    from assina.notifications.models import Segment

    Segment.objects.create(name="everyone", created_at=now())
    advance(utc(2027, 5, 10, 10))
    from assina.feedback.sending import send_to_segment

    assert send_to_segment("everyone", "nps", now())["sent"] == 0
    assert send_to_segment("everyone", "csat", now())["sent"] == 2
    advance(utc(2027, 7, 1, 10))  # 92 days after the first NPS
    assert send_to_segment("everyone", "nps", now())["sent"] == 2
    assert SurveyRequest.objects.filter(survey="nps").count() == 4


def test_support_interactions_get_one_csat_per_reference(api, people):
    ana, _bob = people
    first = api.post("/survey_responses/support_interactions", {"customer_email": "ana@example.com", "reference": "T-1"})
    assert first.status_code == 200 and first.json()["sent"] is True
    again = api.post("/survey_responses/support_interactions", {"customer_email": "ana@example.com", "reference": "T-1"})
    assert again.json()["sent"] is False
    assert api.post("/survey_responses/support_interactions",
                    {"customer_email": "ana@example.com", "reference": "T-2"}).json()["sent"] is True
    assert Message.objects.filter(customer=ana, template="survey_csat").count() == 2
    SurveySettings.objects.update(after_support=False)
    assert api.post("/survey_responses/support_interactions",
                    {"customer_email": "ana@example.com", "reference": "T-3"}).json()["sent"] is False


def test_an_annual_renewal_brings_an_nps_before_it(people):
    ana, _bob = people
    SurveySettings.objects.update_or_create(pk=1, defaults={"before_renewal": True})
    make_plan("yearly", 49900, interval="year")
    sub = subscribe(make_customer(email="carla@example.com", card="4242424242424242"), "yearly")
    from factories import advance

    advance(sub.current_period_end - timedelta(days=29))
    assert SurveyRequest.objects.filter(trigger="renewal", customer=sub.customer).count() == 1


def test_the_cancel_flows_words_become_feedback(people):
    from django.db import transaction

    from assina.retention.models import CancelSession

    make_plan("pro", 4990)
    sub = subscribe(make_customer(email="dan@example.com", card="4242424242424242"), "pro")
    with transaction.atomic():
        CancelSession.objects.create(customer=sub.customer, subscription=sub, started_at=now(), updated_at=now(),
                                     reason="too_expensive" if "too_expensive" in _reasons() else _reasons()[0],
                                     reason_text="Ficou caro demais", feedback_text="", outcome="canceled",
                                     completed_at=now(), currency="BRL")
    jobs.run(now(), at_due_time=False)
    jobs.run(now(), at_due_time=False)
    note = SurveyResponse.objects.get(source="cancellation")
    assert note.survey == "note" and note.comment == "Ficou caro demais" and note.tags[0].startswith("reason:")
    assert note.theme_assignments.filter(theme__slug="price").exists()


def _reasons() -> list[str]:
    from assina.retention.models import CancelSession

    return [c for c, _label in CancelSession._meta.get_field("reason").choices]


# --- scores ---------------------------------------------------------------------------------

def _staff(client: Client) -> Client:
    user = User.objects.create_user("owner", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(user)
    return client


def test_report_by_api_cli_and_page(api, people, capsys):
    from assina.cli import main
    from assina.feedback.services import record_response

    ana, bob = people
    for customer, survey, score, day in ((ana, "nps", 10, 3), (bob, "nps", 3, 4), (ana, "nps", 8, 40), (bob, "csat", 5, 5),
                                         (ana, "csat", 2, 6)):
        record_response(customer=customer, survey=survey, score=score, comment="", submitted_at=utc(2027, 1, 1) + timedelta(days=day),
                        source="api", at=now())
    body = api.ok("GET", "/metrics/feedback", {"from": "2027-01", "to": "2027-02"})
    assert body["overall"]["nps"] | {} == {**body["overall"]["nps"], "responses": 3, "promoters": 1, "passives": 1,
                                            "detractors": 1, "nps": 0.0}
    assert body["overall"]["csat"] == {"responses": 2, "satisfied": 1, "csat": 50.0}
    assert body["by_month"]["2027-01"]["nps"]["nps"] == 0.0 and body["by_month"]["2027-02"]["nps"]["passives"] == 1
    assert body["by_country"]["BR"]["nps"]["responses"] == 2 and body["by_locale"]["en"]["nps"]["detractors"] == 1
    from assina.notifications.models import Segment

    Segment.objects.create(name="Brazil", countries=["BR"], created_at=now())
    segments = api.ok("GET", "/metrics/feedback", {"from": "2027-01", "to": "2027-02"})["by_segment"]
    assert segments["Brazil"]["nps"]["responses"] == 2 and segments["Brazil"]["csat"]["satisfied"] == 0
    problem(api.get("/metrics/feedback", {"from": "2027-13"}), 422, "parameter_invalid")
    assert main(["feedback", "report", "--from", "2027-01-01", "--to", "2027-01-31", "--json"]) in (0, None)
    cli = json.loads(capsys.readouterr().out)
    assert cli["overall"]["nps"]["responses"] == 2 and cli["overall"]["nps"]["nps"] == 0.0
    page = _staff(Client()).get("/dashboard/feedback/?from=2027-01&to=2027-02")
    assert page.status_code == 200 and 'id="nps-card"' in page.content.decode()
    assert Client().get("/dashboard/feedback/").status_code == 302


def test_export_holds_the_comments_and_erasure_removes_them(people):
    from assina.privacy.erase import erase_customer
    from assina.privacy.export import export_customer
    from assina.feedback.services import record_response

    ana, _bob = people
    record_response(customer=ana, survey="nps", score=4, comment="O suporte demora", submitted_at=now(), source="api", at=now())
    exported = export_customer(ana)
    assert exported["survey_responses"][0]["comment"] == "O suporte demora" and exported["survey_responses"][0]["score"] == 4
    erase_customer(ana.pk, now())
    assert list(SurveyResponse.objects.filter(customer=ana).values_list("comment", "score")) == [("", 4)]


def test_comments_export_as_csv_for_other_teams_without_formulas(people):
    import csv
    import io

    from assina.feedback.services import record_response

    ana, _bob = people
    record_response(customer=ana, survey="nps", score=3, comment="=HYPERLINK(\"x\") o app trava", submitted_at=now(),
                    source="api", at=now())
    client = _staff(Client())
    response = client.get("/dashboard/feedback/comments.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][-1] == "comment" and rows[1][2] == "ana@example.com" and rows[1][5] == "detractor"
    assert rows[1][-1].startswith("'=")  # a comment is never read as a formula
    assert Client().get("/dashboard/feedback/comments.csv").status_code == 302


def test_the_customers_page_shows_their_feedback(people):
    from assina.feedback.services import record_response

    ana, _bob = people
    record_response(customer=ana, survey="nps", score=2, comment="O app trava no celular", submitted_at=now(),
                    source="api", at=now())
    user = User.objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(user)
    page = client.get(f"/admin/customers/customer/{ana.pk}/change/")
    assert page.status_code == 200 and "O app trava no celular" in page.content.decode()


def test_mailing_triggers_start_off(people):
    from factories import advance

    advance(utc(2027, 4, 5, 10))
    assert not SurveyRequest.objects.exists() and not Message.objects.filter(template__startswith="survey_").exists()
