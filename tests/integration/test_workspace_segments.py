"""Saved segments at scale (issue 20): a segment's MRR bounds are computed by the database
(``notifications.segments.customer_mrr``), customer by customer equal to the dashboard's rule in
Python (``mrr_by_customer`` through ``core.mrr``); and the owner removes or renames a saved
segment from the workspace, unless a campaign (and so a playbook's e-mail) or a price migration
still uses it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import make_addon, make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.services import create_coupon
from assina.customers.models import Customer
from assina.notifications.models import Segment
from assina.notifications.segments import customer_mrr, customers_of, mrr_by_customer
from assina.subscriptions.services import cancel_now, pause
from assina.time import now

pytestmark = pytest.mark.django_db

T0 = utc(2027, 2, 1, 9)
GRADUATED = [{"up_to": 2, "unit_amount": 300}, {"up_to": None, "unit_amount": 200, "flat_amount": 100}]
VOLUME = [{"up_to": 10, "unit_amount": 500}, {"up_to": None, "unit_amount": 400, "flat_amount": 50}]


def _sql_mrr(at) -> dict[int, int]:
    return dict(Customer.objects.annotate(mrr=customer_mrr(at)).values_list("pk", "mrr"))


def _members(at, **bounds) -> set[str]:
    return {c.email.split("@")[0] for c in customers_of(Segment(name="s", created_at=T0, **bounds), at)}


def test_the_databases_mrr_is_the_dashboards_customer_by_customer():
    start_clock(T0)
    make_plan("basic", 2990)
    make_plan("annual", 99990, interval="year")
    make_plan("quarterly", 10000, interval_count=3)
    make_plan("fortnight", 700, interval="week", interval_count=2)
    make_plan("seats", 1000, pricing_model="per_unit")
    make_plan("volume", 0, pricing_model="volume", tiers=VOLUME)
    make_plan("packs", 2000, pricing_model="package", package_size=5)
    make_plan("trial-pro", 10000, trial_days=14)
    make_addon("support", 0, pricing_model="graduated", tiers=GRADUATED)
    create_coupon(code="fifteen", duration="forever", percent_off="15", at=now())
    create_coupon(code="third", duration="repeating", duration_periods=1, percent_off="33.33", at=now())
    create_coupon(code="eighth", duration="forever", percent_off="12.5", at=now())
    create_coupon(code="free", duration="forever", percent_off="100", at=now())
    create_coupon(code="seats10", duration="forever", amount_off=1000, currency="BRL", plans=["seats"], at=now())
    create_coupon(code="seats20", duration="forever", percent_off="20", plans=["seats"], at=now())
    who = {name: make_customer(email=f"{name}@example.com") for name in
           ("ana", "bob", "cid", "dan", "eve", "fay", "gus", "hal", "ivy", "jo", "kim", "lea")}
    subscribe(who["ana"], "basic", coupon_code="fifteen")  # 2990 - 448.5 rounded up: 2541
    subscribe(who["bob"], "annual")  # 99990 / 12 = 8332.5: 8333
    # 4 seats (4000) less 1000 on the seats only, the graduated add-on (600 + 200 + 100) in full
    subscribe(who["cid"], "seats", quantity=4, coupon_code="seats10", addons=[("support", 3)])
    subscribe(who["dan"], "trial-pro")  # a trial: 0
    pause(subscribe(who["eve"], "volume", quantity=12).pk)  # paused: 0
    subscribe(who["eve"], "quarterly")  # 10000 / 3: 3333
    subscribe(who["fay"], "packs", quantity=7)  # two packs: 4000
    subscribe(who["gus"], "basic", coupon_code="free")  # paying, worth 0
    subscribe(who["hal"], "basic", coupon_code="third")  # 2990 - 996.567: 1993 this month, 2990 after
    subscribe(who["ivy"], "fortnight")  # 700 × 52 / 24 = 1516.67: 1517
    subscribe(who["jo"], "volume", quantity=10, coupon_code="eighth")  # 5000 - 625: 4375
    cancel_now(subscribe(who["kim"], "basic").pk)  # ended: 0
    # 2 seats (2000) less 20 % on the seats only, the graduated add-on (300 + 300) in full
    subscribe(who["lea"], "seats", quantity=2, coupon_code="seats20", addons=[("support", 2)])
    at = now()
    expected = {"ana": 2541, "bob": 8333, "cid": 3900, "dan": 0, "eve": 3333, "fay": 4000, "gus": 0, "hal": 1993,
                "ivy": 1517, "jo": 4375, "kim": 0, "lea": 2200}
    by_name = {c.pk: c.email.split("@")[0] for c in Customer.objects.all()}
    for moment in (at, at + timedelta(days=40)):  # a month on, Hal's discount is over
        python = mrr_by_customer(Customer.objects.all(), moment)
        assert _sql_mrr(moment) == python
    assert {by_name[pk]: v for pk, v in mrr_by_customer(Customer.objects.all(), at).items()} == expected
    assert python[who["hal"].pk] == 2990

    assert _members(at, min_mrr=3900) == {"bob", "cid", "fay", "jo"}
    assert _members(at, min_mrr=3901, max_mrr=8332) == {"fay", "jo"}
    assert _members(at, max_mrr=0) == {"dan", "gus", "kim"}  # no paying subscription, or one worth 0
    assert _members(at, max_mrr=1993) == {"dan", "gus", "kim", "hal", "ivy"}
    assert _members(at + timedelta(days=40), max_mrr=1993) == {"dan", "gus", "kim", "ivy"}
    assert _members(at, min_mrr=1) == set(expected) - {"dan", "gus", "kim"}
    # As a subquery, as price migrations read their segment.
    inner = customers_of(Segment(name="s", created_at=T0, min_mrr=4000, max_mrr=4375), at).values("pk")
    assert set(Customer.objects.filter(pk__in=inner).values_list("email", flat=True)) == {"fay@example.com", "jo@example.com"}


def test_the_owner_renames_and_deletes_a_segment_unless_a_campaign_playbook_or_price_migration_uses_it(client):
    from django.contrib.auth.models import Permission, User

    from assina.catalog.models import Plan, PlanVersion
    from assina.notifications.models import Campaign
    from assina.playbooks.models import Playbook
    from assina.repricing.models import PriceMigration

    start_clock(T0)
    make_plan("basic", 2990)
    owner = User.objects.create_user("owner", password="x", is_staff=True)
    owner.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_customer", "change_segment", "delete_segment"]))
    client.force_login(owner)
    lone, mailed, priced = (Segment.objects.create(name=n, created_at=now()) for n in ("Lone", "Mailed", "Priced"))
    campaign = Campaign.objects.create(name="Win back", segment=mailed, subject_en="Hi", html_en="<p>Hi</p>", created_at=now())
    Playbook.objects.create(name="Detractors", trigger="detractor", email_campaign=campaign, created_at=now())
    plan = Plan.objects.get(code="basic")
    PriceMigration.objects.create(plan=plan, new_version=PlanVersion.objects.get(plan=plan), audience="segment",
                                  segment=priced, effective_at=T0 + timedelta(days=40), created_at=now())

    page = client.get(f"/workspace/customers/?segment={lone.pk}").content.decode()
    assert 'id="ws-segment-delete"' in page and 'id="ws-segment-rename"' in page
    # The first POST only asks; nothing is deleted until it is confirmed.
    ask = client.post(f"/workspace/segments/{lone.pk}/delete/").content.decode()
    assert 'id="ws-confirm-button"' in ask and Segment.objects.filter(pk=lone.pk).exists()
    done = client.post(f"/workspace/segments/{lone.pk}/delete/", {"confirm": "yes"}, follow=True).content.decode()
    assert "Segment “Lone” deleted." in done and not Segment.objects.filter(pk=lone.pk).exists()

    refused = client.post(f"/workspace/segments/{mailed.pk}/delete/").content.decode()
    assert "campaign “Win back”" in refused and "playbook “Detractors”" in refused
    assert 'id="ws-confirm-button"' not in refused
    # A confirmation forged anyway is refused in the owner's language.
    forced = client.post(f"/workspace/segments/{priced.pk}/delete/", {"confirm": "yes"}, follow=True,
                         HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "ainda é usado" in forced and "migração de preço do plano “Basic”" in forced
    assert Segment.objects.filter(pk__in=[mailed.pk, priced.pk]).count() == 2

    client.post(f"/workspace/segments/{mailed.pk}/rename/", {"name": "Lapsed customers"})
    campaign.refresh_from_db()
    assert campaign.segment.name == "Lapsed customers"  # the campaign keeps its segment under the new name
    taken = client.post(f"/workspace/segments/{mailed.pk}/rename/", {"name": "Priced"}, follow=True).content.decode()
    assert "already called “Priced”" in taken and Segment.objects.get(pk=mailed.pk).name == "Lapsed customers"

    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(viewer)
    assert client.post(f"/workspace/segments/{priced.pk}/delete/", {"confirm": "yes"}).status_code == 403
    assert client.post(f"/workspace/segments/{priced.pk}/rename/", {"name": "x"}).status_code == 403
