"""The suggestions (issue 19) where the owner reads them: the figures through
``GET /api/v1/metrics/suggestions`` and the dashboard's panel (acceptance rate, added MRR, by
kind, money in the reader's language), and the Suggestions section of a customer's page (at most
three with their reasons, whether each was shown to the customer and accepted).

The shop is ``test_suggestions``'s: Ana (pro, storage) is suggested Team (usage), Priority
support (cross-sell, R$30.00) and Backup (popular)."""

from __future__ import annotations

import json

import pytest
from api_support import api, problem  # noqa: F401 - fixture
from django.contrib.auth.models import Permission, User
from django.test import Client
from factories import advance, utc
from test_suggestions import shop  # noqa: F401 - fixture

from assina.analytics.suggestions import suggestions_report
from assina.events.models import Event
from assina.subscriptions.addons import add_addon
from assina.upgrades import suggestions

pytestmark = pytest.mark.django_db

RANGE = {"from": "2027-01-01", "to": "2027-02-28"}


@pytest.fixture
def taken(shop):  # noqa: F811
    """Ana was shown her three suggestions in the portal and took Priority support; Bia saw hers."""
    ana, ana_sub, bia, _bia_sub = shop
    suggestions.record_shown(ana.pk, suggestions.suggestions_for(ana.pk), "portal")
    suggestions.record_shown(bia.pk, suggestions.suggestions_for(bia.pk)[:1], "checkout")
    add_addon(ana_sub.pk, "support")
    assert suggestions.record_accepted(ana.pk, "addon:support", "portal") is True
    return shop


def viewer(*codenames: str) -> Client:
    user = User.objects.create_user(f"u{User.objects.count()}", password="x", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


# --- the figures: API and dashboard panel ----------------------------------------------------------


def test_the_api_gives_the_acceptance_rate_and_added_mrr_of_a_range(api, taken):  # noqa: F811
    body = api.ok("GET", "/metrics/suggestions", RANGE)
    assert body == json.loads(json.dumps(suggestions_report("2027-01-01", "2027-02-28")))
    assert (body["from"], body["to"], body["shown"], body["accepted"]) == ("2027-01-01", "2027-02-28", 4, 1)
    assert body["acceptance_rate"] == 0.25 and body["added_mrr"] == {"BRL": 3000}
    kinds = {row["kind"]: row for row in body["by_kind"]}
    assert list(kinds) == list(suggestions.KINDS)
    assert (kinds["cross_sell"]["shown"], kinds["cross_sell"]["accepted"], kinds["cross_sell"]["acceptance_rate"],
            kinds["cross_sell"]["added_mrr"]) == (1, 1, 1.0, {"BRL": 3000})
    assert (kinds["limit_upsell"]["shown"], kinds["limit_upsell"]["acceptance_rate"]) == (1, 0.0)
    assert kinds["bundle"] == {"kind": "bundle", "shown": 0, "accepted": 0, "acceptance_rate": None, "added_mrr": {}}
    # A month is a range too; a range before anything was shown has nothing, and no rate.
    assert api.ok("GET", "/metrics/suggestions", {"from": "2027-02", "to": "2027-02"})["shown"] == 4
    empty = api.ok("GET", "/metrics/suggestions", {"from": "2027-01", "to": "2027-01-31"})
    assert (empty["shown"], empty["acceptance_rate"], empty["added_mrr"]) == (0, None, {})


def test_the_default_range_is_the_last_90_days_and_bad_ranges_are_refused(api, taken):  # noqa: F811
    advance(utc(2027, 4, 15))
    assert api.ok("GET", "/metrics/suggestions")["from"] == "2027-01-16"
    advance(utc(2027, 5, 15))
    assert api.ok("GET", "/metrics/suggestions")["shown"] == 0  # shown 1 February: out of the last 90 days
    problem(api.get("/metrics/suggestions", {"from": "2027-02-01", "to": "2027-01-01"}), 422, "report_error")
    problem(api.get("/metrics/suggestions", {"from": "yesterday"}), 422, "report_error")


def test_the_spec_documents_the_endpoint_with_its_period_and_figures():
    spec = Client().get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/metrics/suggestions"]["get"]
    assert "metrics" in operation["tags"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    props = spec["components"]["schemas"][ref]["properties"]
    assert {"from", "to", "as_of", "shown", "accepted", "acceptance_rate", "added_mrr", "by_kind"} <= set(props)


def test_the_dashboard_panel_shows_the_figures_in_the_readers_language(taken):
    client = viewer()
    assert client.get("/dashboard/suggestions/").status_code == 403
    assert Client().get("/dashboard/suggestions/").status_code == 302  # to the login page
    client = viewer("view_dashboard")
    page = client.get("/dashboard/suggestions/?from=2027-01-01&to=2027-02-28").content.decode()
    assert "Suggestions: acceptance and added MRR" in page
    kpis = page.split('id="kpi-shown"', 1)[1].split('id="suggestions-rule"', 1)[0]
    assert ">4<" in kpis and ">25.0%<" in kpis and "R$30.00" in kpis
    table = page.split('id="table-kinds"', 1)[1]
    assert "Add-on customers like them have</td><td>1</td><td>1</td><td>100.0%</td><td>R$30.00</td>" in table
    assert "Bundle that costs less</td><td>0</td><td>0</td><td>—</td><td>—</td>" in table
    pt = client.get("/dashboard/suggestions/?from=2027-01-01&to=2027-02-28", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    assert "Sugestões: aceitação e MRR adicionado" in pt and "25,0%" in pt and "R$\xa030,00" in pt
    assert "Complemento que clientes parecidos têm" in pt
    refused = client.get("/dashboard/suggestions/?from=2027-02-01&to=2027-01-01").content.decode()
    assert 'id="report-error"' in refused and "starts after it ends" in refused
    dashboard = client.get("/dashboard/").content.decode()
    assert '<a href="/dashboard/suggestions/" id="link-suggestions">' in dashboard


# --- the customer's page ------------------------------------------------------------------------


def test_the_customer_page_lists_the_suggestions_with_reasons_shown_and_accepted(taken):
    ana, _sub, bia, _ = taken
    client = viewer("view_customer")
    page = client.get(f"/workspace/customers/{ana.pk}/").content.decode()
    assert f'id="ws-suggestions" data-src="/workspace/customers/{ana.pk}/suggestions/"' in page
    assert "workspace/suggestions.js" in page

    events = Event.objects.count()
    body = client.get(f"/workspace/customers/{ana.pk}/suggestions/").content.decode()
    assert Event.objects.count() == events  # the owner looking records nothing
    items = body.split('id="ws-suggestion-list"', 1)[1].split("</ol>", 1)[0].split("<li>")[1:]
    # Support was taken: it is no longer suggested (listed under accepted); Team and Backup still are.
    assert len(items) == 2 and "Backup" in items[1] and "Popular add-on" in items[1]
    assert "Team" in items[0] and "Upgrade that fits their usage" in items[0]
    assert "With your usage last period (1,700 API calls), Team would have cost R$150.00 instead of R$170.00." in items[0]
    assert "Shown to the customer on 02/01/2027 (in the portal); not accepted" in items[0]
    assert "+R$50.00 MRR" in items[0]
    assert "Shown to the customer on 02/01/2027 (in the portal); not accepted" in items[1]
    accepted = body.split('id="ws-suggestions-accepted"', 1)[1]
    assert "Priority support (Add-on customers like them have) on 02/01/2027, in the portal: +R$30.00 MRR" in accepted

    pt = client.get(f"/workspace/customers/{bia.pk}/suggestions/", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    assert "Você usou 900 de 1.000 API calls incluídos no Pro; o Team inclui 10.000." in pt
    assert "Mostrada ao cliente em 01/02/2027 (no checkout); não aceita" in pt
    assert "R$\xa0150,00" in pt and "Upgrade perto do limite do plano" in pt
    assert pt.count("Não mostrada ao cliente nos últimos 90 dias") == 2  # she was shown only the first


def test_the_customer_page_does_not_wait_for_the_suggestions(shop, monkeypatch):  # noqa: F811
    ana = shop[0]
    monkeypatch.setattr("assina.workspace.suggested.suggestions_for",
                        lambda *a, **k: pytest.fail("the page worked the suggestions out"))
    client = viewer("view_customer")
    assert client.get(f"/workspace/customers/{ana.pk}/").status_code == 200


def test_a_customer_without_suggestions_says_so_and_only_staff_may_look(shop):  # noqa: F811
    from factories import make_customer

    nobody = make_customer(name="Cid")
    body = viewer("view_customer").get(f"/workspace/customers/{nobody.pk}/suggestions/").content.decode()
    assert 'id="ws-no-suggestions"' in body and "ws-suggestions-accepted" not in body
    assert viewer().get(f"/workspace/customers/{nobody.pk}/suggestions/").status_code == 403
    assert Client().get(f"/workspace/customers/{nobody.pk}/suggestions/").status_code == 302
    assert viewer("view_customer").get("/workspace/customers/999999/suggestions/").status_code == 404
