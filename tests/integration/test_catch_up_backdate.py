"""A subscription's start may lie at most one billing period in the past (issue 14).

One ``POST /api/v1/subscriptions`` with ``start`` 1970-01-01 used to make 685 charged invoices
and 685 receipts in ten seconds: the first period was billed at once and the worker then billed
every period since. The API, the admin's add form and the service refuse such a start with a
clear, translated problem, and nothing changes.
"""

from __future__ import annotations

import pytest
from api_support import api, problem  # noqa: F401
from django.test import override_settings
from factories import counts, make_customer, make_plan, start_clock, subscribe, utc

from assina.invoices.models import Invoice
from assina.scheduler import run_jobs
from assina.subscriptions.models import Subscription
from assina.subscriptions.services import BackdateError
from assina.time import now

pytestmark = pytest.mark.django_db

NOW = utc(2027, 3, 10, 12)


@pytest.fixture
def shop():
    start_clock(NOW)
    make_plan("pro", 4990)
    make_plan("weekly", 990, interval="week")
    return make_customer(email="ana@example.com")


def test_api_refuses_a_start_in_1970_and_nothing_is_billed(api, shop):
    before = counts()
    response = api.post("/subscriptions", {"customer": f"cus_{shop.pk}", "plan": "pro", "start": "1970-01-01T00:00:00Z"})
    body = problem(response, 422, "start_too_early")
    assert "1970-01-01" in body["detail"] and "one billing period" in body["detail"]
    # A worker pass afterwards finds nothing to bill either.
    run_jobs(now(), at_due_time=False)
    assert counts() == before
    assert not Invoice.objects.exists() and not Subscription.objects.exists()


def test_the_problem_is_translated(shop):
    from api_support import ApiClient, new_key

    client = ApiClient(new_key("write"), language="pt-BR")
    response = client.post("/subscriptions", {"customer": f"cus_{shop.pk}", "plan": "pro",
                                              "start": "2027-01-01T00:00:00Z"})
    body = problem(response, 422, "start_too_early")
    assert "período de cobrança" in body["detail"], body["detail"]


def test_a_start_one_period_back_is_accepted_and_one_more_day_is_not(api, shop):
    # A month before 2027-03-10 12:00 is 2027-02-10 12:00: allowed, and billed up to now.
    sub = subscribe(shop, "pro", start=utc(2027, 2, 10, 12))
    assert sub.status == "active"
    with pytest.raises(BackdateError):
        subscribe(shop, "pro", start=utc(2027, 2, 10, 11, 59))
    # A weekly plan: one week.
    subscribe(shop, "weekly", start=utc(2027, 3, 3, 12))
    with pytest.raises(BackdateError):
        subscribe(shop, "weekly", start=utc(2027, 3, 3, 11))
    assert Subscription.objects.count() == 2


def test_max_backdate_days_replaces_the_one_period_rule(shop):
    with override_settings(ASSINA_MAX_BACKDATE_DAYS=90):
        subscribe(shop, "pro", start=utc(2026, 12, 11))
        with pytest.raises(BackdateError) as refused:
            subscribe(shop, "pro", start=utc(2026, 12, 9))
    assert "90 days" in str(refused.value) and "ASSINA_MAX_BACKDATE_DAYS" in str(refused.value)
    with override_settings(ASSINA_MAX_BACKDATE_DAYS=0):
        with pytest.raises(BackdateError):
            subscribe(shop, "pro", start=utc(2027, 3, 10, 11))


def test_admin_add_form_refuses_a_start_in_1970(admin_client, shop):
    from django.urls import reverse

    before = counts()
    response = admin_client.post(reverse("admin:subscriptions_subscription_add"), {
        "customer": "ana@example.com", "plan": "pro", "quantity": "1", "addons": "", "coupon": "", "trial_days": "",
        "start_0": "1970-01-01", "start_1": "00:00:00",
    })
    assert response.status_code == 200
    assert "too far in the past" in response.content.decode()
    assert counts() == before
