"""The suggestions card's usage read (``portal.queries.usage_facts``, one fixed statement) gives
what its ORM twin gives: the last billed period's usage (a free trial's left out), the
subscription's base version and the newest version of each other active base plan in its
currency and interval, with their metered prices; nothing before any usage was billed.

The twin is registered with ``test_queries.py``'s rule that every statement has a compared twin."""

from __future__ import annotations

import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc
from test_queries import compares
from usage_support import send, usage

from assina.catalog.models import Plan
from assina.catalog.services import change_plan_price
from assina.portal import queries as portal_queries
from assina.subscriptions.models import SubscriptionItem
from assina.time import now
from assina.usage.services import add_metered_price, create_metric

pytestmark = pytest.mark.django_db


def _args(sub) -> tuple:
    item = SubscriptionItem.objects.get(subscription=sub, plan_version__plan__kind=Plan.Kind.BASE)
    return sub.pk, item.plan_version_id, sub.plan_id, sub.currency, sub.interval, sub.interval_count


@compares(portal_queries.usage_facts_orm)
def test_the_usage_read_matches_the_orm():
    start_clock(utc(2027, 1, 1))
    create_metric(code="calls", name="API calls", aggregation="sum")
    create_metric(code="gb", name="GB stored", aggregation="max")
    make_plan("pro", 10000, name="Pro")
    add_metered_price(plan_code="pro", metric_code="calls", pricing_model="graduated",
                      tiers=[{"up_to": 1000, "unit_amount": 0}, {"up_to": None, "unit_amount": 10}])
    add_metered_price(plan_code="pro", metric_code="gb", pricing_model="per_unit", unit_amount=50)
    make_plan("team", 15000, name="Team")
    add_metered_price(plan_code="team", metric_code="calls", pricing_model="graduated",
                      tiers=[{"up_to": 10000, "unit_amount": 0}, {"up_to": None, "unit_amount": 5}])
    make_plan("basic", 5000, name="Basic")  # no metered price: its base price alone
    make_plan("old", 20000, name="Old")
    Plan.objects.filter(code="old").update(active=False)  # not on sale
    make_plan("yearly", 100000, name="Yearly", interval="year")  # another interval
    make_plan("dollars", 9000, name="Dollars", currency="USD")  # another currency
    ana, bia, caio = (make_customer(email=f"{n}@example.com") for n in ("ana", "bia", "caio"))
    ana_sub, bia_sub = subscribe(ana, "pro"), subscribe(bia, "pro", trial_days=60)
    caio_sub = subscribe(caio, "pro")
    advance(utc(2027, 1, 10))
    send(usage("a1", ana, "calls", 1700, utc(2027, 1, 10)), usage("a2", ana, "gb", 12, utc(2027, 1, 10)),
         usage("b1", bia, "calls", 900, utc(2027, 1, 10)))
    advance(utc(2027, 2, 5))
    send(usage("a3", ana, "calls", 300, utc(2027, 2, 3)))
    change_plan_price("team", amount=16000, at=now())  # its newest version is read
    add_metered_price(plan_code="team", metric_code="calls", pricing_model="graduated",
                      tiers=[{"up_to": 20000, "unit_amount": 0}, {"up_to": None, "unit_amount": 5}])
    advance(utc(2027, 3, 1, 1))  # February billed too: only the last period counts

    facts = portal_queries.usage_facts(*_args(ana_sub))
    assert facts == portal_queries.usage_facts_orm(*_args(ana_sub))
    assert facts.usage == {"calls": 300, "gb": 0}
    codes = sorted(row[1] for row in facts.versions.values())
    assert codes == ["basic", "pro", "team"]
    team = next(v for v, row in facts.versions.items() if row[1] == "team")
    assert facts.versions[team][4] == 16000 and facts.metered[team]["calls"][2][0] == {"up_to": 20000, "unit_amount": 0}
    assert facts.metric_names == {"calls": "API calls", "gb": "GB stored"}

    # A period with no usage is billed at 0; a trial's usage is not billed: nothing more is read.
    assert portal_queries.usage_facts(*_args(caio_sub)) == portal_queries.usage_facts_orm(*_args(caio_sub))
    assert portal_queries.usage_facts(*_args(caio_sub)).usage == {"calls": 0, "gb": 0}
    assert portal_queries.usage_facts(*_args(bia_sub)) == portal_queries.usage_facts_orm(*_args(bia_sub)) \
        == portal_queries.NO_USAGE
