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

from assina.engagement.services import add_note, add_task, record_events
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
