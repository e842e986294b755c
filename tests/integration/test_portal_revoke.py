"""The owner ends a customer's portal access from the admin (issue 16): a button on the
customer's page and an action on the customers' list, each after a confirmation page, for staff
who may change customers. Every open session ends, every unused link and every button in a
message already sent stops working; other customers keep theirs."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission, User
from django.core import signing
from django.test import Client
from email_support import path_of, web_transactions
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.events.models import Event
from assina.notifications import links
from assina.portal import services
from assina.portal.models import PortalLink, PortalSession

pytestmark = web_transactions()


def _csrf(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def _enter(url: str):
    client = Client(enforce_csrf_checks=True)
    page = client.get(path_of(url))
    if page.status_code != 200:
        return page, client
    return client.post(path_of(url), {"csrfmiddlewaretoken": _csrf(page)}), client


@pytest.fixture
def world(monkeypatch):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990, name="Pro")
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    bia = make_customer(email="bia@example.com", name="Bia Lima", locale="pt-BR")
    subscribe(ana, "pro")
    subscribe(bia, "pro")
    _entered, ana_client = _enter(services.create_link(ana)[1])
    _entered, bia_client = _enter(services.create_link(bia)[1])
    _unused, unused_url = services.create_link(ana)
    # A message mailed a little earlier (buttons are dated to the second).
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() - 5))
    mailed = links.portal_url(ana.pk)
    monkeypatch.undo()
    return SimpleNamespace(ana=ana, bia=bia, ana_client=ana_client, bia_client=bia_client, unused=unused_url,
                           mailed=mailed)


def _owner(*codenames: str, superuser: bool = False) -> Client:
    if superuser:
        user = User.objects.create_superuser("owner", "owner@example.com", "x")
    else:
        user = User.objects.create_user("clerk", password="x", is_staff=True)
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _ended(w) -> None:
    assert w.ana_client.get("/portal/")["Location"] == "/portal/login"
    assert _enter(w.unused)[0].status_code == 410
    assert _enter(w.mailed)[0].status_code == 410
    assert w.bia_client.get("/portal/").status_code == 200  # another customer keeps theirs
    event = Event.objects.get(type="portal.access_revoked", customer_id=w.ana.pk)
    assert event.data["sessions"] == 1 and event.data["links"] == 1


def test_the_button_on_the_customers_page_asks_then_ends_every_session_link_and_mailed_button(world, monkeypatch):
    owner = _owner(superuser=True)
    page = owner.get(f"/admin/customers/customer/{world.ana.pk}/change/")
    text = page.content.decode()
    assert page.status_code == 200 and "1 open session" in text
    url = re.search(r'id="end-portal-access" href="([^"]+)"', text).group(1)

    ask = owner.get(url)  # a GET asks and changes nothing
    assert ask.status_code == 200 and "End this customer's portal access?" in ask.content.decode()
    assert "1 open portal session ends at once." in ask.content.decode()
    assert world.ana_client.get("/portal/").status_code == 200
    assert owner.post(url, {"confirm": "yes"}).status_code == 403  # no CSRF token
    assert PortalSession.objects.filter(revoked_at__isnull=False).count() == 0

    done = owner.post(url, {"confirm": "yes", "csrfmiddlewaretoken": _csrf(ask)})
    assert done.status_code == 302 and done["Location"] == f"/admin/customers/customer/{world.ana.pk}/change/"
    _ended(world)
    after = owner.get(done["Location"]).content.decode()
    assert "Portal access ended for 1 customer (sessions ended: 1, unused links revoked: 1)" in after
    assert "0 open sessions" in after

    # A message made after the revocation carries a button that works.
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + 2))
    later = links.portal_url(world.ana.pk)
    monkeypatch.undo()
    assert _enter(later)[0]["Location"] == "/portal/"


def test_the_action_on_the_customers_list_asks_first(world):
    owner = _owner(superuser=True)
    changelist = owner.get("/admin/customers/customer/")
    assert "End portal access…" in changelist.content.decode()
    chosen = {"action": "end_portal_access", "_selected_action": [world.ana.pk],
              "csrfmiddlewaretoken": _csrf(changelist)}
    ask = owner.post("/admin/customers/customer/", chosen)
    assert ask.status_code == 200 and "Yes, end their portal access" in ask.content.decode()
    assert PortalLink.objects.filter(revoked_at__isnull=False).count() == 0
    done = owner.post("/admin/customers/customer/", {**chosen, "confirm": "yes", "csrfmiddlewaretoken": _csrf(ask)})
    assert done.status_code == 302
    _ended(world)


def test_staff_who_may_only_look_at_customers_cannot_end_portal_access(world):
    clerk = _owner("view_customer", "view_portalsession")
    page = clerk.get(f"/admin/customers/customer/{world.ana.pk}/change/")
    assert page.status_code == 200
    assert clerk.get(f"/admin/customers/customer/{world.ana.pk}/end-portal-access/").status_code == 403
    changelist = clerk.get("/admin/customers/customer/")
    assert "End portal access" not in changelist.content.decode()
    sessions = clerk.get("/admin/portal/portalsession/")
    assert sessions.status_code == 200 and "Revoke every portal link" not in sessions.content.decode()
    clerk.post("/admin/customers/customer/", {"action": "end_portal_access", "_selected_action": [world.ana.pk],
                                              "confirm": "yes", "csrfmiddlewaretoken": _csrf(changelist)})
    assert PortalSession.objects.filter(revoked_at__isnull=False).count() == 0
    assert world.ana_client.get("/portal/").status_code == 200
    assert not Event.objects.filter(type="portal.access_revoked").exists()
