"""The mode belongs to the database: recorded at migrate, checked by every process (web pages, the
API's key lookup, the worker), changed only by switching a sandbox to live explicitly; sandbox
links are signed with the database's own random key."""

from __future__ import annotations

import hashlib

import pytest
from api_support import ApiClient, problem
from django.test import Client
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.api.keys import create_key
from assina.api.models import ApiKey
from assina.clock import installation
from assina.clock.installation import ModeMismatch, link_signing_key, record_mode, require_agreement
from assina.clock.models import ClockState, Installation
from assina.clock.services import ClockError, switch_to_live
from assina.customers.models import Customer
from assina.time import now
from assina.worker import run_once, run_worker

pytestmark = pytest.mark.django_db


def _database_is(mode: str) -> None:
    """The database's recorded mode, set after the process's (the test settings follow it otherwise)."""
    Installation.objects.filter(pk=1).update(mode=mode)
    installation.forget_link_signing_key()


def test_migrate_records_the_mode_once_with_a_random_link_signing_key(settings):
    row = Installation.objects.get(pk=1)
    assert row.mode == "sandbox"
    assert len(row.link_signing_key) >= 60 and row.link_signing_key != settings.SECRET_KEY
    # A later migrate (post_migrate again) keeps what was recorded, whatever the process says.
    settings.ASSINA_MODE = "live"
    _database_is("sandbox")
    assert record_mode().mode == "sandbox"
    assert Installation.objects.get(pk=1).link_signing_key == row.link_signing_key


def test_a_process_whose_mode_differs_from_the_database_is_refused_with_how_to_fix_it(settings):
    require_agreement()  # sandbox and sandbox
    settings.ASSINA_MODE = "live"
    _database_is("sandbox")
    with pytest.raises(ModeMismatch, match="this database is a sandbox but ASSINA_MODE is live.*assina mode set live"):
        require_agreement()
    settings.ASSINA_MODE = "sandbox"
    _database_is("live")
    with pytest.raises(ModeMismatch, match="this database is live but ASSINA_MODE is sandbox: set ASSINA_MODE=live"):
        require_agreement()
    Installation.objects.all().delete()
    with pytest.raises(ModeMismatch, match="run 'assina migrate'"):
        require_agreement()


def test_a_live_database_opened_in_sandbox_mode_serves_no_page_and_no_api_request(settings):
    make_customer(email="real@example.com")
    secret = create_key(scope="write", name="site").secret
    _database_is("live")  # the process still says sandbox: the forgotten ASSINA_MODE=live
    body = problem(ApiClient(secret).get("/customers"), 503, "database_mode_mismatch")
    assert "ASSINA_MODE=live" in body["detail"]
    assert problem(ApiClient(secret).post("/customers", {"email": "x@example.com"}), 503, "database_mode_mismatch")
    assert list(Customer.objects.values_list("email", flat=True)) == ["real@example.com"]
    page = Client().get("/admin/login/")
    assert page.status_code == 503 and "this database is live" in page.content.decode()
    with pytest.raises(ModeMismatch):
        create_key(scope="read")


def test_a_key_row_of_another_mode_is_refused_whatever_its_prefix(settings):
    settings.ASSINA_MODE = "live"  # a live database and process
    secret = "sk_live_" + "k" * 43
    # A sandbox key row carrying a live-looking secret (copied from another database): its row says sandbox.
    ApiKey.objects.create(name="copied", mode="sandbox", scope="write", key_hash=hashlib.sha256(secret.encode()).hexdigest(),
                          hint="sk_live_…kkkk", created_at=now())
    problem(ApiClient(secret).get("/customers"), 401, "wrong_mode_key")
    good = create_key(scope="read", name="live")
    assert good.secret.startswith("sk_live_") and ApiClient(good.secret).get("/customers").status_code == 200


def test_switching_to_live_is_refused_with_invoices_unless_understood_and_clears_the_clock(settings):
    start_clock(utc(2027, 3, 1))
    make_plan("basic", 3000)
    subscribe(make_customer(), "basic")
    with pytest.raises(ClockError, match="holds 1 invoice.*--i-understand"):
        switch_to_live(invoice_count=1)
    assert Installation.objects.get(pk=1).mode == "sandbox"
    assert ClockState.objects.get(pk=1).frozen_at == utc(2027, 3, 1)

    row = switch_to_live(invoice_count=1, i_understand=True)
    assert (row.mode, row.link_signing_key) == ("live", "") and row.switched_to_live_at is not None
    assert ClockState.objects.get(pk=1).frozen_at is None
    with pytest.raises(ModeMismatch, match="this database is live but ASSINA_MODE is sandbox"):
        require_agreement()
    with pytest.raises(ClockError, match="already live"):
        switch_to_live(invoice_count=0)


def test_an_empty_sandbox_switches_to_live_without_being_asked():
    assert switch_to_live(invoice_count=0).mode == "live"


def test_the_worker_refuses_to_bill_a_database_of_another_mode(settings):
    start_clock(utc(2027, 3, 1))
    make_plan("basic", 3000)
    subscribe(make_customer(), "basic")
    _database_is("live")
    with pytest.raises(ModeMismatch):
        run_once()
    # The loop stops for good instead of retrying at the next poll.
    with pytest.raises(ModeMismatch):
        run_worker(interval=0)


def test_sandbox_links_are_signed_with_the_database_key_and_live_ones_with_the_secret_key(settings):
    installation.forget_link_signing_key()
    assert link_signing_key() == Installation.objects.get(pk=1).link_signing_key != settings.SECRET_KEY
    settings.ASSINA_MODE = "live"
    assert link_signing_key() == settings.SECRET_KEY
