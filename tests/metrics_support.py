"""A small business with every kind of MRR movement, built through the real services under
the test clock, and the figures computed by hand for it (tests/integration/test_metrics*.py).

All in BRL (minor units), business time zone UTC, range January-March 2027:

  A  basic 3000, coupon 20% for 2 periods, Jan 5       new 2400; the discount ends Mar 5: expansion +600
  H  basic 3000, Jan 8: first payment fails, card fixed 5 h later   new 3000 (dunning: recovered)
  B  pro 10000, Jan 10; Feb 12 -> team x8 (16000); Feb 20 -> team x6 (12000)
                                                       new 10000; expansion +6000 and contraction -4000 in Feb
  J  basic with a failing card, Jan 12, never fixed: expires (dunning: lost; not a customer)
  C  annual 120000/year, Jan 15                        new 10000 (a year is 12 months)
  D  basic 3000 + pro 10000, Jan 20; basic canceled now Mar 10
                                                       new 13000; contraction -3000 (not churn: pro stays)
  E  pro 10000, Jan 25; cancel at period end Feb 1 (ends Feb 25); basic again Mar 20
                                                       new 10000; churn -10000 in Feb; reactivation +3000 in Mar
  F  pro with a 14-day trial, Feb 1, converts Feb 15   new 10000 in Feb
  G  pro with a 14-day trial, Feb 1, canceled Feb 5    nothing (a trial that did not convert)
"""

from __future__ import annotations

import pytest
from factories import FAILING_CARD, GOOD_CARD, advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.services import create_coupon
from assina.time import now
from assina.payments.services import attach_card
from assina.subscriptions import services as subs
from assina.subscriptions.changes import change_subscription


def build_small_business() -> dict:
    start_clock(utc(2027, 1, 1))
    make_plan("basic", 3000)
    make_plan("pro", 10000)
    make_plan("team", 2000, pricing_model="per_unit")
    make_plan("annual", 120000, interval="year")
    make_plan("trial-pro", 10000, trial_days=14)
    create_coupon(code="welcome", duration="repeating", duration_periods=2, percent_off="20", at=now())
    people = {}

    def customer(name, *, country="BR", segment="salon", card=GOOD_CARD):
        people[name] = make_customer(card=card, email=f"{name.lower()}@example.com", name=name, country=country,
                                     metadata={"segment": segment})
        return people[name]

    advance(utc(2027, 1, 5, 10))
    a = subscribe(customer("A", country="PT"), "basic", coupon_code="welcome")
    advance(utc(2027, 1, 8, 10))
    h = subscribe(customer("H", card=FAILING_CARD, segment="clinic"), "basic")
    advance(utc(2027, 1, 8, 15))
    attach_card(people["H"], GOOD_CARD, now())  # pays the open invoice at once
    advance(utc(2027, 1, 10, 10))
    b = subscribe(customer("B", country="PT", segment="clinic"), "pro")
    advance(utc(2027, 1, 12, 10))
    subscribe(customer("J", card=FAILING_CARD), "basic")  # expires 23 h later
    advance(utc(2027, 1, 15, 10))
    c = subscribe(customer("C"), "annual")
    advance(utc(2027, 1, 20, 10))
    d_basic = subscribe(customer("D"), "basic")
    d_pro = subscribe(people["D"], "pro")
    advance(utc(2027, 1, 25, 10))
    e = subscribe(customer("E"), "pro")
    advance(utc(2027, 2, 1, 10))
    subs.cancel_at_period_end(e.pk, reason="switched_service")
    f = subscribe(customer("F"), "trial-pro")
    g = subscribe(customer("G"), "trial-pro")
    advance(utc(2027, 2, 5, 10))
    subs.cancel_now(g.pk, reason="too_expensive")
    advance(utc(2027, 2, 12, 10))
    change_subscription(b.pk, plan_code="team", quantity=8)
    advance(utc(2027, 2, 20, 10))
    change_subscription(b.pk, quantity=6)
    advance(utc(2027, 3, 10, 10))
    subs.cancel_now(d_basic.pk, reason="unused")
    advance(utc(2027, 3, 20, 10))
    e2 = subscribe(people["E"], "basic")
    advance(utc(2027, 4, 1, 0))
    return {"people": people, "subs": {"a": a, "h": h, "b": b, "c": c, "d_basic": d_basic, "d_pro": d_pro, "e": e,
                                       "e2": e2, "f": f, "g": g}}


# --- the figures, by hand ------------------------------------------------------------------
MONTHS = {
    "2027-01": {"mrr_start": 0, "new": 48400, "expansion": 0, "contraction": 0, "churn": 0, "reactivation": 0,
                "mrr_end": 48400, "customers_start": 0, "customers_end": 6, "new_customers": 6},
    "2027-02": {"mrr_start": 48400, "new": 10000, "expansion": 6000, "contraction": -4000, "churn": -10000,
                "reactivation": 0, "mrr_end": 50400, "customers_start": 6, "customers_end": 6, "new_customers": 1,
                "expansion_customers": 1, "contraction_customers": 1, "churn_customers": 1},
    "2027-03": {"mrr_start": 50400, "new": 0, "expansion": 600, "contraction": -3000, "churn": 0, "reactivation": 3000,
                "mrr_end": 51000, "customers_start": 6, "customers_end": 7, "reactivation_customers": 1},
}
RATES = {
    "2027-01": {"customer_churn_rate": None, "gross_mrr_churn_rate": None, "net_mrr_churn_rate": None,
                "net_revenue_retention": None, "gross_revenue_retention": None, "quick_ratio": None},
    "2027-02": {"customer_churn_rate": 1 / 6, "gross_mrr_churn_rate": 14000 / 48400,
                "net_mrr_churn_rate": (14000 - 6000) / 48400, "net_revenue_retention": 40400 / 48400,
                "gross_revenue_retention": 34400 / 48400, "quick_ratio": 16000 / 14000, "arpa": 50400 / 6},
    "2027-03": {"customer_churn_rate": 0.0, "gross_mrr_churn_rate": 3000 / 50400,
                "net_mrr_churn_rate": (3000 - 600 - 3000) / 50400, "net_revenue_retention": 48000 / 50400,
                "gross_revenue_retention": 47400 / 50400, "quick_ratio": 3600 / 3000, "arpa": 51000 / 7},
}
PLANS = {"basic": (9000, 3, 3), "pro": (10000, 1, 1), "trial-pro": (10000, 1, 1), "team": (12000, 1, 1), "annual": (10000, 1, 1)}


@pytest.fixture
def metrics_api(settings):
    """A read-scope API client, the clock at 2027-03-10 12:00 and no kept metrics snapshot."""
    settings.ASSINA_MAX_BACKDATE_DAYS = 400  # imports months of history: a start may otherwise lie one period back (issue 14)
    from api_support import ApiClient, new_key

    from assina.analytics import service
    from assina.api import ratelimit

    ratelimit.reset()
    service.forget()
    start_clock(utc(2027, 3, 10, 12))
    yield ApiClient(new_key("read"))
    service.forget()
