"""Price increases with a choice (issue 19, docs/repricing.md).

A migration across 200 monthly subscribers of "pro" (R$50.00 per unit, quantities 1 and 2, anchors
on every day of January, en and pt-BR customers) to R$60.00 from 2027-03-15, offering: the new
price with 10 % off for 2 periods, the cheaper "basic" (R$35.00), or keeping the old price on
annual billing ("pro-annual", R$500.00 a year per unit). Default: accept. Mixed choices:

    i % 6 == 0  accept (portal page for two of them)     i % 6 == 3  no answer (default: accept)
    i % 6 == 1  switch                                    i % 6 == 4  cancels after the notice
    i % 6 == 2  annual                                    i % 6 == 5  switch, then accept after arming

Each lands at its first renewal on or after 2027-03-15 (anchor day d >= 15: March d; else April
d). The amounts each renewal bills, by hand, per unit: before: 5000; accept: 5400 (6000 - 600)
for two periods, then 6000; switch: 3500; annual: 50000 once, nothing more in the window;
cancelled: nothing after the period end.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from api_support import api  # noqa: F401
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import signed_in as _signed_in

from assina.invoices.models import Invoice, InvoiceLine
from assina.notifications.models import Message
from assina.repricing import services
from assina.repricing.models import PriceMigrationMember as Member
from assina.repricing.report import migration_report
from assina.subscriptions.models import Subscription
from assina.subscriptions.services import cancel_at_period_end
from assina.time import now
from assina.upgrades.models import AnnualOffer

pytestmark = pytest.mark.django_db(transaction=True)

EFFECTIVE = utc(2027, 3, 15)
KINDS = ("accept", "switch", "annual", "none", "cancel", "switch_then_accept")


def _token(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)




def _plans():
    pro = make_plan("pro", 5000, name="Pro", pricing_model="per_unit")
    make_plan("basic", 3500, name="Basic", pricing_model="per_unit")
    annual = make_plan("pro-annual", 50000, name="Pro Annual", interval="year", pricing_model="per_unit")
    AnnualOffer.objects.create(monthly_plan=pro, annual_plan=annual, incentive="percent", percent_off="10", created_at=now())


def _create(**extra):
    asked = dict(plan_code="pro", new_amount=6000, effective_at=EFFECTIVE, loyalty_percent="10", loyalty_periods=2,
                 switch_plan_code="basic", allow_annual=True, default_choice="accept")
    return services.create_migration(**{**asked, **extra})


def _renewals(sub_id: int) -> list[tuple]:
    """(period start, subscription line amounts, discount) of each renewal invoice."""
    result = []
    for invoice in Invoice.objects.filter(subscription_id=sub_id, billing_reason="subscription_cycle").order_by("period_start"):
        lines = list(InvoiceLine.objects.filter(invoice=invoice).values_list("kind", "amount"))
        result.append((invoice.period_start, sum(a for k, a in lines if k == "subscription"),
                       sum(a for k, a in lines if k == "discount"), invoice.total))
    return result


def test_a_migration_across_200_subscribers_lands_the_documented_amounts_at_each_renewal():
    start_clock(utc(2027, 1, 1))
    _plans()
    advance(utc(2027, 1, 28))
    subs = []
    for i in range(200):  # started on January 1..28 (backdated within their first period: billed now)
        customer = make_customer(name=f"Cliente {i}", locale="pt-BR" if i % 2 else "en")
        subs.append((i, subscribe(customer, "pro", quantity=1 + (i // 6) % 2, start=utc(2027, 1, 1 + i % 28))))
    advance(utc(2027, 2, 1))

    migration = _create()
    assert migration.members_count == 200
    notices = Message.objects.filter(template="price_migration_notice")
    assert notices.count() == 200
    pt = notices.get(customer_id=subs[1][1].customer_id)
    assert "Mudar para Basic" in pt.text and "R$ 35,00" in pt.text.replace("\xa0", " ") and "/portal/enter/" in pt.text
    en = notices.get(customer_id=subs[0][1].customer_id)
    assert "Keep today's price with annual billing" in en.text and "R$500.00" in en.text

    kind = {sub.pk: KINDS[i % 6] for i, sub in subs}
    members = {m.subscription_id: m for m in Member.objects.filter(migration=migration)}
    portal_done = 0
    for i, sub in subs:
        member = members[sub.pk]
        choice = kind[sub.pk]
        if choice == "accept" and portal_done < 2:
            client = _signed_in(sub.customer)
            page = client.get("/portal/price-change/")
            assert page.status_code == 200
            done = client.post(f"/portal/price-change/{member.pk}/", {"csrfmiddlewaretoken": _token(page), "choice": "accept"})
            assert done.status_code == 302
            portal_done += 1
        elif choice in ("accept", "switch", "annual", "switch_then_accept"):
            services.choose(sub.customer_id, member.pk, "switch" if choice == "switch_then_accept" else choice)
        elif choice == "cancel":
            cancel_at_period_end(sub.pk)

    advance(utc(2027, 3, 14))
    for i, sub in subs:  # armed by now for every anchor day >= 14: change their mind
        if kind[sub.pk] == "switch_then_accept":
            services.choose(sub.customer_id, members[sub.pk].pk, "accept")
    reminders = Message.objects.filter(template="price_migration_reminder").count()
    advance(utc(2027, 5, 1))

    no_answer = sum(1 for i, _s in subs if KINDS[i % 6] == "none")
    assert Message.objects.filter(template="price_migration_reminder").count() == no_answer
    assert reminders > 0
    for i, sub in subs:
        q = 1 + (i // 6) % 2
        day = sub.billing_anchor.day
        target = utc(2027, 3 if day >= 15 else 4, day)
        choice = kind[sub.pk]
        renewals = _renewals(sub.pk)
        before = [r for r in renewals if r[0] < target]
        after = [r for r in renewals if r[0] >= target]
        assert all(r[1:] == (5000 * q, 0, 5000 * q) for r in before), (i, renewals)
        if choice in ("accept", "none", "switch_then_accept"):
            expected = [(6000 * q, -600 * q, 5400 * q), (6000 * q, -600 * q, 5400 * q), (6000 * q, 0, 6000 * q)]
        elif choice == "switch":
            expected = [(3500 * q, 0, 3500 * q)] * 3
        elif choice == "annual":
            expected = [(50000 * q, 0, 50000 * q)]
        else:
            expected = []
        # Renewals on or after the target up to May 1 (included): March d, April d, May 1.
        months_after = sum(1 for month in (3, 4, 5) if target <= utc(2027, month, day) <= utc(2027, 5, 1))
        if choice not in ("annual", "cancel"):
            expected = expected[:months_after]
        assert [r[1:] for r in after] == expected, (i, choice, day, renewals)
        assert not after or after[0][0] == target
        sub = Subscription.objects.get(pk=sub.pk)
        if choice == "cancel":
            assert sub.status == "canceled"
        if choice == "annual":
            assert (sub.plan.code, sub.interval, sub.current_period_start) == ("pro-annual", "year", target)

    report = migration_report(migration.pk)
    assert (report["notified"], report["cancelled"], report["no_answer"]) == (200, 33, no_answer)
    assert report["accepted"] + report["switched"] + report["annual"] + report["cancelled"] + report["no_answer"] == 200
    assert report["outcomes"] == {"accepted": 100, "switched": 34, "annual": 33, "cancelled": 33}
    assert report["churn"]["group"]["rate"] == round(33 / 200, 4)
    assert report["mrr_before"]["BRL"] == sum(5000 * (1 + (i // 6) % 2) for i, _s in subs)


def test_refusals_change_nothing():
    start_clock(utc(2027, 1, 1))
    _plans()
    subscribe(make_customer(), "pro")
    versions = list(Member.objects.values_list("pk"))
    from assina.catalog.models import PlanVersion

    before = PlanVersion.objects.count()
    refusals = [
        (dict(effective_at=now() + timedelta(days=29)), "at least 30 days"),
        (dict(plan_code="nope"), "unknown plan"),
        (dict(loyalty_percent="150"), "loyalty discount must be"),
        (dict(loyalty_periods=None), "lasts from 1 to"),
        (dict(switch_plan_code="pro-annual"), "same currency and billing interval"),
        (dict(new_amount=-5), "more than zero"),
        (dict(new_amount="60.00"), "positive whole number"),
        (dict(audience="segment"), "name the saved segment"),
        (dict(audience="before"), "give the date"),
        (dict(default_choice="annual"), "accept or switch"),
        (dict(new_amount=4000, switch_plan_code=None), "not higher"),
    ]
    for extra, words in refusals:
        with pytest.raises(services.MigrationError, match=words):
            _create(**extra)
    assert PlanVersion.objects.count() == before and Message.objects.count() == 0 and list(Member.objects.values_list("pk")) == versions


def test_the_cli_and_the_api_drive_it(capsys, api):  # noqa: F811
    import json

    from assina.cli import main

    start_clock(utc(2027, 1, 1))
    _plans()
    for _n in range(3):
        subscribe(make_customer(), "pro")
    too_soon = api.post("/price_migrations", {"plan": "pro", "amount": 6000, "effective_at": "2027-01-20T00:00:00Z"})
    assert too_soon.status_code == 422 and "at least 30 days" in too_soon.json()["detail"]
    assert api.get("/price_migrations/pm_999/report").status_code == 404
    assert main(["price-migration", "create", "--plan", "pro", "--amount", "6000", "--effective", "2027-03-01",
                 "--switch-plan", "basic", "--default", "switch", "--json"]) in (0, None)
    created = json.loads(capsys.readouterr().out)
    assert (created["notified"], created["no_answer"], created["default"], created["offers"]) == (3, 3, "switch",
                                                                                               ["accept", "switch"])
    report = api.get(f"/price_migrations/{created['migration']}/report").json()
    assert report["mrr_before"] == {"BRL": 15000} and report["churn"]["group"] == {"subscriptions": 3, "churned": 0, "rate": 0.0}
    assert main(["price-migration", "report", created["migration"], "--json"]) in (0, None)
    assert json.loads(capsys.readouterr().out)["notified"] == 3
