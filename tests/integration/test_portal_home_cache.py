"""The portal's home keeps its account part between visits (``assina.portal.home``, issue 16
"Performance") and never shows a stale one: after each change a customer, the billing run or
the owner makes, the page served equals a page made afresh and shows the change; with no change
in between, the kept part is served (nothing is made again)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.test import Client
from factories import FAILING_CARD, advance, make_addon, make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.models import Plan
from assina.customers.services import update_customer
from assina.invoices.models import Invoice
from assina.payments import methods
from assina.payments.refunds import refund_invoice
from assina.payments.services import attach_card
from assina.portal import home, services
from assina.portal.models import PortalSettings
from assina.subscriptions import services as subscriptions
from assina.subscriptions.addons import add_addon, remove_addon
from assina.subscriptions.changes import change_subscription
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (auth, sessions)

# What differs between two pages by design: the CSRF tokens, the CSP nonce, the card link's time.
PER_REQUEST = re.compile(r'(csrfmiddlewaretoken" value=")[^"]+|(nonce=")[^"]+|(/c/card/)[^/"]+')


def _page(client: Client) -> str:
    response = client.get("/portal/")
    assert response.status_code == 200
    return PER_REQUEST.sub(lambda m: next(g for g in m.groups() if g) + "…", response.content.decode()).replace("\xa0", " ")


@pytest.fixture
def made(monkeypatch):
    """How many times the account part was made."""
    count = [0]
    build = home.build

    def counted(customer_id):
        count[0] += 1
        return build(customer_id)

    monkeypatch.setattr(home, "build", counted)
    return count


def test_the_kept_home_is_served_until_something_it_shows_changes(made):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 6000, name="Pro", pricing_model="per_unit")
    make_plan("team", 9000, name="Team", pricing_model="per_unit")
    make_addon("seats", 1000, name="Extra seats")
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    sub = subscribe(ana, "pro")
    client = Client(enforce_csrf_checks=True)
    _link, url = services.create_link(ana)
    path = urlsplit(url).path
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(path).content.decode()).group(1)
    assert client.post(path, {"csrfmiddlewaretoken": token}).status_code == 302
    owner = get_user_model().objects.create_user("owner")

    def owner_edit(model, obj, **changes):
        """An owner's edit in the admin: the row changes and Django's admin logs it."""
        model.objects.filter(pk=obj.pk).update(**changes)
        LogEntry.objects.create(user=owner, action_flag=CHANGE, object_repr=str(obj), change_message="[]")

    def portal_settings(**changes):
        PortalSettings(**{**{f: getattr(PortalSettings.current(), f) for f in
                             ("pause_1", "pause_2", "pause_3", "allow_addon_changes")}, **changes}).save()

    card = methods.add_card(ana, "5555555555554444", now(), make_default=False)
    steps = [
        ("a plan change", lambda: change_subscription(sub.pk, plan_code="team"), "Team"),
        ("an add-on", lambda: add_addon(sub.pk, "seats", 2), "Extra seats × 2"),
        ("an add-on removed", lambda: remove_addon(sub.pk, "seats"), "Team"),
        ("another default card", lambda: methods.set_default(ana, card.pk, now()), "ending in 4444, expires"),
        ("a card removed", lambda: methods.remove(ana, card.pk, now()), "ending in 4242"),
        ("a pause", lambda: subscriptions.pause(sub.pk), "paused"),
        ("a resume", lambda: subscriptions.resume(sub.pk), "renews automatically"),
        ("a cancellation", lambda: subscriptions.cancel_at_period_end(sub.pk), "is cancelled"),
        ("a reactivation", lambda: subscriptions.reactivate(sub.pk), "renews automatically"),
        ("a renewal", lambda: advance(utc(2027, 3, 10, 12)), "/pdf"),
        # Shows nothing new (the invoice stays paid), but it is an event: made again, the same page.
        ("a refund", lambda: refund_invoice(Invoice.objects.filter(customer=ana).latest("pk").pk, now()), None),
        ("a failing card and a declined renewal", lambda: (attach_card(ana, FAILING_CARD, now()),
                                                            advance(utc(2027, 4, 10, 12))), "did not go through"),
        ("the customer's language", lambda: update_customer(ana.pk, {"locale": "pt-BR"}, at=now()), "Sua assinatura"),
        ("a plan renamed by the owner", lambda: owner_edit(Plan, Plan.objects.get(code="team"), name="Equipe"), "Equipe"),
        ("no more pauses offered", lambda: portal_settings(pause_1=False, pause_2=False, pause_3=False), "Equipe"),
        ("no more add-on changes", lambda: portal_settings(allow_addon_changes=False), "Equipe"),
    ]
    before = _page(client)
    assert "Pro" in before and f"/portal/subscriptions/{sub.pk}/pause/" in before
    for what, change, shown in steps:
        kept = made[0]
        assert _page(client) == before and made[0] == kept, what  # nothing changed: the kept part
        change()
        page = _page(client)
        assert made[0] == kept + 1, what
        home.forget()
        assert page == _page(client), what  # what a page made afresh shows
        assert shown is None or (page != before and shown in page), what
        before = page
    assert f"/portal/subscriptions/{sub.pk}/pause/" not in page
    assert f"/portal/subscriptions/{sub.pk}/addons/" not in page
