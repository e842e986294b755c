"""The owner starts a price migration in the admin (/admin/repricing/pricemigration/start/):
the same checks and notices as the CLI and the API, every option including the annual plan
whose price is kept, and a refusal shown once, in the owner's language, with nothing written."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.models import PlanVersion
from assina.notifications.models import Message
from assina.repricing.models import PriceMigration, PriceMigrationMember

pytestmark = pytest.mark.django_db

START = "/admin/repricing/pricemigration/start/"


def _owner(language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(User.objects.create_superuser(f"owner-{language}", password="x"))
    return client


def _setup():
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    make_plan("basic", 3500, name="Basic")
    make_plan("pro-annual", 50000, name="Pro Annual", interval="year")
    make_plan("pro-yearly", 48000, name="Pro Yearly", interval="year")
    for _n in range(3):
        subscribe(make_customer(), "pro")


def _written() -> tuple[int, int, int, int]:
    return (PlanVersion.objects.count(), PriceMigration.objects.count(), PriceMigrationMember.objects.count(),
            Message.objects.filter(template__startswith="price_migration").count())


GOOD = {"plan": "pro", "amount": "60.00", "effective_at": "2027-03-01 00:00", "audience": "all", "loyalty_percent": "10",
        "loyalty_periods": "2", "switch_plan": "basic", "allow_annual": "on", "annual_plan": "pro-yearly",
        "default_choice": "accept"}


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_the_owner_starts_a_migration_with_every_option(language):
    _setup()
    client = _owner(language)
    form = client.get(START)
    assert form.status_code == 200
    page = form.content.decode()
    assert 'name="annual_plan"' in page and '<option value="pro-yearly">' in page
    assert ("plano anual oferecido" if language == "pt-br" else "annual plan offered") in page.lower()
    done = client.post(START, GOOD)
    assert done.status_code == 302, done.content.decode()[:3000]
    migration = PriceMigration.objects.get()
    assert done["Location"] == f"/admin/repricing/pricemigration/{migration.pk}/change/"
    assert (migration.new_version.unit_amount, migration.switch_plan.code, migration.annual_plan.code,
            migration.annual_version.unit_amount, migration.loyalty_periods) == (6000, "basic", "pro-yearly", 48000, 2)
    assert migration.offers() == ["accept", "switch", "annual"]
    assert migration.members_count == 3
    assert Message.objects.filter(template="price_migration_notice").count() == 3
    report = client.get(done["Location"])
    assert report.status_code == 200 and "pm_%d" % migration.pk in report.content.decode()


REFUSALS = [
    ({"effective_at": "2027-01-20 00:00"},
     "the effective date must be at least 30 days after the notice: January 31, 2027 or later",
     "a data de início deve ser pelo menos 30 dias depois do aviso: 31 de janeiro de 2027 ou depois"),
    ({"switch_plan": "", "default_choice": "switch"},
     "the default is the cheaper plan, but no cheaper plan is offered",
     "o padrão é o plano mais barato, mas nenhum plano mais barato é oferecido"),
    ({"audience": "segment"}, "name the saved segment (its id or name)", None),
    ({"loyalty_periods": ""}, "the loyalty discount lasts from 1 to 24 periods", None),
    ({"amount": "60,00"}, "'60,00' is not a valid amount; use digits and a dot, like 49.90",
     "'60,00' não é um valor válido; use dígitos e ponto decimal, como 49.90"),
    ({"effective_at": ""}, "This field is required.", "Este campo é obrigatório."),
]


@pytest.mark.parametrize("language", ["en", "pt-br"])
@pytest.mark.parametrize(("change", "english", "portuguese"), REFUSALS,
                         ids=["too soon", "switch default without a plan", "segment missing", "loyalty periods missing",
                              "comma amount", "effective date missing"])
def test_a_refusal_is_shown_once_in_the_owners_language_and_nothing_is_written(language, change, english, portuguese):
    _setup()
    client = _owner(language)
    before = _written()
    page = client.post(START, {**GOOD, **change})
    assert page.status_code == 200
    html = page.content.decode().replace("&#x27;", "'")
    errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)
    assert len(errors) == 1, errors  # one error list on the page, not the same error twice
    assert errors[0].count("<li>") == 1, errors
    if language == "en":
        assert english in errors[0] and html.count(english) == 1, errors
    else:
        assert english not in html, errors
        if portuguese:
            assert portuguese in errors[0] and html.count(portuguese) == 1, errors
    assert _written() == before


def test_a_staff_member_without_the_permission_cannot_start_one():
    _setup()
    clerk = User.objects.create_user("clerk", password="x", is_staff=True)
    client = Client()
    client.force_login(clerk)
    assert client.get(START).status_code == 403
    assert client.post(START, GOOD).status_code == 403
    assert PriceMigration.objects.count() == 0
