"""The owner's customer workspace (issue 20): the list's filters and saved segments (the same
segments campaigns use), a customer's page with the whole timeline in time order, the feedback
on it and its CSV export (issue 17), and who may see what."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.engagement.services import EventRow, add_note, add_task, record_events
from assina.feedback.services import record_response
from assina.notifications import campaigns
from assina.notifications.models import Campaign, Message, Segment
from assina.notifications.segments import customers_of
from assina.success.models import HealthScore
from assina.time import now

pytestmark = pytest.mark.django_db

T0 = utc(2027, 3, 1, 9)


def staff(*perms: str, superuser: bool = False) -> Client:
    user = User.objects.create_user(f"u{User.objects.count()}", password="x", is_staff=True, is_superuser=superuser)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label=app))
    client = Client()
    client.force_login(user)
    return client


def score(customer, value: int, band: str, churn: float | None, reasons=()):
    return HealthScore.objects.update_or_create(customer=customer, defaults=dict(
        score=value, band=band, churn_probability=churn, reasons=list(reasons), computed_at=now()))[0]


@pytest.fixture
def shop():
    start_clock(T0)
    make_plan("basic", 3000)
    make_plan("pro", 9000)
    ana = make_customer(email="ana@example.com", name="Ana", country="BR", locale="pt-BR")
    bob = make_customer(email="bob@example.com", name="Bob", country="US")
    cid = make_customer(email="cid@example.com", name="Cid", country="BR")
    subscribe(ana, "pro")
    subscribe(bob, "basic")
    start_clock(T0 + timedelta(days=20))  # the clock moved on; nothing else ran
    at = now()
    score(ana, 82, "healthy", 0.04)
    score(bob, 31, "at_risk", 0.62, [{"code": "payment_failed"}])
    record_response(customer=ana, survey="nps", score=10, comment="Love it", submitted_at=at - timedelta(days=3),
                    source="api", at=at)
    record_response(customer=bob, survey="nps", score=9, comment="", submitted_at=at - timedelta(days=20), source="api", at=at)
    record_response(customer=bob, survey="nps", score=3, comment="=HYPERLINK(\"x\") support is slow",
                    submitted_at=at - timedelta(days=2), source="api", at=at)
    return {"ana": ana, "bob": bob, "cid": cid}


def names(html: str) -> list[str]:
    table = html.split('id="ws-customers"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'href="/workspace/customers/\d+/">([^<]+)</a>', table)


def test_the_list_shows_each_customer_and_filters_by_health_risk_nps_plan_and_country(shop):
    owner = staff("customers.view_customer")
    page = owner.get("/workspace/customers/").content.decode()
    assert names(page) == ["Cid", "Bob", "Ana"]  # newest first
    assert "82 · Healthy" in page and "31 · At risk" in page and "62 %" in page and "not scored yet" in page
    assert "10 · promoter" in page and "3 · detractor" in page  # Bob's latest answer, not his older 9
    assert "R$90.00" in page and "R$30.00" in page
    assert names(owner.get("/workspace/customers/?health=at_risk").content.decode()) == ["Bob"]
    assert names(owner.get("/workspace/customers/?risk_min=50").content.decode()) == ["Bob"]
    assert names(owner.get("/workspace/customers/?risk_max=5").content.decode()) == ["Ana"]
    assert names(owner.get("/workspace/customers/?nps=detractor").content.decode()) == ["Bob"]
    assert names(owner.get("/workspace/customers/?nps=promoter&nps=passive").content.decode()) == ["Ana"]
    assert names(owner.get("/workspace/customers/?plan=pro").content.decode()) == ["Ana"]
    assert names(owner.get("/workspace/customers/?country=br").content.decode()) == ["Cid", "Ana"]
    assert names(owner.get("/workspace/customers/?mrr_min=50").content.decode()) == ["Ana"]
    assert names(owner.get("/workspace/customers/?locale=pt-BR&sort=name").content.decode()) == ["Ana"]
    assert names(owner.get("/workspace/customers/?sort=risk").content.decode()) == ["Bob", "Ana", "Cid"]
    assert names(owner.get("/workspace/customers/?q=bob").content.decode()) == ["Bob"]
    bad = owner.get("/workspace/customers/?risk_min=abc&health=at_risk").content.decode()
    assert "must be a whole number from 0 to 100" in bad and names(bad) == ["Bob"]  # the rest still filters


def test_the_list_pages_through_customers(shop):
    for i in range(55):
        make_customer(email=f"extra{i:02d}@example.com", name=f"Extra {i:02d}", card=None)
    owner = staff("customers.view_customer")
    first = owner.get("/workspace/customers/?sort=name").content.decode()
    second = owner.get("/workspace/customers/?sort=name&page=2").content.decode()
    assert len(names(first)) == 50 and len(names(second)) == 8
    assert not set(names(first)) & set(names(second)) and "58 customers" in first and "page 1 of 2" in first


def test_filters_saved_as_a_segment_reach_a_campaign_by_health_band(shop):
    owner = staff("customers.view_customer", "notifications.add_segment")
    saved = owner.post("/workspace/segments/", {"name": "At risk", "health": "at_risk"})
    assert saved.status_code == 302
    segment = Segment.objects.get(name="At risk")
    assert segment.health_bands == ["at_risk"]
    again = owner.get(saved["Location"]).content.decode()
    assert names(again) == ["Bob"]
    campaign = Campaign.objects.create(name="Win back", segment=segment, subject_en="Hi {{ customer.name }}",
                                       html_en="<p>We miss you</p>", created_at=now())
    campaigns.send_now(campaign.pk, now())
    assert set(Message.objects.filter(campaign=campaign).values_list("to_email", flat=True)) == {"bob@example.com"}
    assert list(customers_of(segment, now()).values_list("email", flat=True)) == ["bob@example.com"]
    # Saving the same name again replaces the filters, never a second row.
    owner.post("/workspace/segments/", {"name": "At risk", "nps": "detractor", "risk_min": "60"})
    segment.refresh_from_db()
    assert Segment.objects.filter(name="At risk").count() == 1
    assert segment.health_bands == [] and segment.nps_categories == ["detractor"] and segment.min_churn_risk == 60
    assert staff("customers.view_customer").post("/workspace/segments/", {"name": "x"}).status_code == 403


def timeline_titles(html: str) -> list[str]:
    block = html.split('id="ws-timeline"', 1)[1].split("</ol>", 1)[0]
    return [re.sub(r"\s+", " ", t).strip() for t in re.findall(r'<span class="what">(.*?)</span>', block, re.S)]


def timeline_times(html: str) -> list[str]:
    block = html.split('id="ws-timeline"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<time datetime="([^"]+)"', block)


def test_a_customers_page_shows_the_summary_feedback_and_whole_timeline_newest_first(shop):
    bob, at = shop["bob"], now()
    record_events([EventRow("e1", bob.pk, "report_exported", at - timedelta(days=5))])
    add_note(bob, body="Called about the failed card", kind="call", occurred_at=at - timedelta(days=1))
    add_task(bob, title="Offer a discount", due_at=at + timedelta(days=2))
    owner = staff("customers.view_customer", "feedback.view_surveyresponse")
    html = owner.get(f"/workspace/customers/{bob.pk}/").content.decode()
    summary = html.split('id="ws-summary"', 1)[1].split('id="ws-why"', 1)[0]
    assert "31 · At risk" in summary and "62 %" in summary and "3 · detractor" in summary and "R$30.00" in summary
    assert "20 days" in summary
    assert "Offer a discount" in html  # an open task
    feedback = html.split('id="ws-feedback"', 1)[1].split("</section>", 1)[0]
    assert "NPS (0–10): 3 (detractor)" in feedback and "support is slow" in feedback and "NPS (0–10): 9 (promoter)" in feedback
    titles = timeline_titles(html)
    times = timeline_times(html)
    assert times == sorted(times, reverse=True)  # newest first
    for expected in ("Call", "Task: Offer a discount", "NPS (0–10): 3 (detractor)", "NPS (0–10): 9 (promoter)",
                     "Used the product: report_exported", "New subscription", "Invoice paid"):
        assert expected in titles, (expected, titles)
    assert titles.index("Call") < titles.index("NPS (0–10): 3 (detractor)") < titles.index("Used the product: report_exported")
    assert titles.index("Used the product: report_exported") < titles.index("NPS (0–10): 9 (promoter)") < titles.index("New subscription")
    billing = timeline_titles(owner.get(f"/workspace/customers/{bob.pk}/?kind=billing").content.decode())
    assert "Invoice paid" in billing and "Call" not in billing and "New subscription" not in billing
    cid = owner.get(f"/workspace/customers/{shop['cid'].pk}/").content.decode()
    assert "not scored yet" in cid and "has not been scored yet" in cid


def test_the_timeline_pages_back_through_years_without_losing_items_of_the_same_moment(shop):
    ana, at = shop["ana"], now()
    # 130 product events, ten at each of 13 moments: a page boundary falls inside a moment.
    record_events([EventRow(f"l{d}-{k}", ana.pk, "login", at - timedelta(days=d)) for d in range(13) for k in range(10)])
    owner = staff("customers.view_customer")
    url, seen = f"/workspace/customers/{ana.pk}/?kind=engagement", []
    while url:
        html = owner.get(url).content.decode()
        seen += timeline_times(html)
        found = re.search(r'href="(\?[^"]+)" id="ws-older"', html)
        url = f"/workspace/customers/{ana.pk}/" + found.group(1).replace("&amp;", "&") if found else None
    assert len(seen) == 130 and seen == sorted(seen, reverse=True)


def test_all_feedback_exports_as_csv_with_customer_score_category_and_comment(shop):
    owner = staff("customers.view_customer", "feedback.view_surveyresponse")
    rows = list(csv.DictReader(io.StringIO(b"".join(owner.get("/workspace/feedback.csv").streaming_content).decode())))
    assert [(r["customer_email"], r["score"], r["nps_category"]) for r in rows] == [
        ("ana@example.com", "10", "promoter"), ("bob@example.com", "9", "promoter"), ("bob@example.com", "3", "detractor")]
    assert rows[2]["comment"].startswith("'=HYPERLINK")  # never a formula in a spreadsheet
    one = owner.get(f"/workspace/customers/{shop['ana'].pk}/feedback.csv")
    assert [r["customer_email"] for r in csv.DictReader(io.StringIO(b"".join(one.streaming_content).decode()))] == ["ana@example.com"]
    assert staff("customers.view_customer").get("/workspace/feedback.csv").status_code == 403


def test_only_staff_with_the_customer_permission_see_the_workspace(shop):
    anonymous = Client().get("/workspace/customers/")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    nobody = staff()
    assert nobody.get("/workspace/customers/").status_code == 403
    assert nobody.get(f"/workspace/customers/{shop['ana'].pk}/").status_code == 403
    assert staff("customers.view_customer").get("/workspace/customers/999999/").status_code == 404
