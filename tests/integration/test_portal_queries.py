"""The portal's home makes a bounded number of queries whatever the customer's history (issue 16,
"Performance"): no query per invoice. Two customers of the same plan, one with 3 monthly invoices
and one with 36 (three years, as ``bench/portal.py`` loads them), cost the same, both when the
account part is made (first visit, or after a change) and when it is kept (``portal.home``)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from factories import advance, make_addon, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import signed_in as _signed_in

from assina.invoices.models import Invoice
from assina.portal import home
from assina.portal.views import cards

pytestmark = pytest.mark.django_db(transaction=True)

# Every home, kept or not: the mode check, the Django session, the test clock, the portal session
# with its customer and stamps (one statement), the upgrade offers (one query per subscription
# that may change, when nothing is offered), the cards (``portal.views.cards``): the survey due, the
# price change to come, the playbook's coupon offer (``playbooks.queries.open_offer``, one more).
KEPT_QUERIES = 8
# When the account part and the suggestions card are made: also the customer, the portal
# settings, the subscriptions and their items, the cards, the invoices; the suggestions (the
# live subscriptions with their add-ons, then per subscription the add-on counts; when something
# is suggested also its prices and the shown check, two more, not the case here: both customers
# have the only add-on).
MADE_QUERIES = 16  # with the playbook's offer card, as above




def _home_queries(client: Client, *, kept: bool) -> tuple[int, str]:
    client.get("/portal/")  # the session's first touch out of the way
    if not kept:
        home.forget()
        cards.forget()
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/portal/")
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def test_the_home_costs_the_same_queries_with_3_or_36_invoices():
    start_clock(utc(2024, 1, 10, 9))
    make_plan("pro", 4990, name="Pro")
    make_addon("seats", 1000, name="Extra seats")
    old = make_customer(email="old@example.com", name="Olga Antiga", locale="pt-BR")
    subscribe(old, "pro", addons=[("seats", 2)])
    advance(utc(2026, 10, 10, 12))
    new = make_customer(email="new@example.com", name="Nina Nova", locale="en")
    subscribe(new, "pro", addons=[("seats", 2)])
    advance(utc(2026, 12, 10, 12))
    assert Invoice.objects.filter(customer=old).exclude(status="draft").count() == 36
    assert Invoice.objects.filter(customer=new).exclude(status="draft").count() == 3

    for kept, budget in ((False, MADE_QUERIES), (True, KEPT_QUERIES)):
        few, few_page = _home_queries(_signed_in(new), kept=kept)
        many, many_page = _home_queries(_signed_in(old), kept=kept)
        assert many_page.count("/pdf") == 36 and few_page.count("/pdf") == 3  # every invoice is on the page
        assert many == few, (kept, few, many)
        assert many <= budget, (kept, many)
