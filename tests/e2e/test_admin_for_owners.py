"""The admin as a shop owner meets it (issue 15): an index grouped by what they work with, the
engine's internal tables out of sight, money and dates written the Brazilian way, a favicon."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.urls import reverse
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.admin_site import HIDDEN

pytestmark = pytest.mark.django_db

GROUPS_EN = ["Customers", "Subscriptions", "Invoices", "Plans", "Coupons", "Messages", "Webhooks", "Settings"]
GROUPS_PT = ["Clientes", "Assinaturas", "Faturas", "Planos", "Cupons", "Mensagens", "Webhooks", "Configurações"]


@pytest.fixture
def shop():
    start_clock(utc(2027, 1, 10, 12))
    make_plan("basic", 2990, name="Básico")
    return subscribe(make_customer(name="Ana Souza"), "basic")


def _captions(page: str) -> list[str]:
    return re.findall(r'<caption>\s*<a [^>]*class="section"[^>]*>([^<]+)</a>', page)


def test_the_index_groups_what_an_owner_works_with(admin_client, shop):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert _captions(page) == GROUPS_EN
    page = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert _captions(page) == GROUPS_PT


def test_internal_tables_are_not_listed_but_keep_their_pages(admin_client, shop):
    page = admin_client.get(reverse("admin:index")).content.decode()
    for app_label, model in HIDDEN:
        url = reverse(f"admin:{app_label}_{model}_changelist")
        assert f'href="{url}"' not in page, url
        assert admin_client.get(url).status_code == 200
    assert "Number sequences" not in page and "Sandbox cards" not in page


def test_every_other_registered_model_is_in_a_group(admin_client, shop):
    page = admin_client.get(reverse("admin:index")).content.decode()
    missing = []
    for model in admin.site._registry:
        key = (model._meta.app_label, model._meta.model_name)
        url = reverse(f"admin:{key[0]}_{key[1]}_changelist")
        if key not in HIDDEN and f'href="{url}"' not in page:
            missing.append(key)
    assert missing == []


def test_dates_in_portuguese_use_lower_case_months(admin_client, shop):
    url = reverse("admin:customers_customer_change", args=[shop.customer_id])
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "10 de janeiro de 2027" in page
    assert "Janeiro" not in page


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_a_customers_page_starts_with_a_summary_and_lists_newest_first(admin_client, shop):
    from assina.subscriptions.models import Subscription

    second = subscribe(shop.customer, "basic", quantity=2)
    page = admin_client.get(reverse("admin:customers_customer_change", args=[shop.customer_id]),
                            HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "<h1>Ana Souza</h1>" in page
    summary = page.split('id="customer-summary"')[1].split('id="customer_form"')[0]
    assert "Ativa" in summary and "Básico" in summary
    assert "R$\xa059,80" in summary.split('id="summary-mrr"')[1][:40]  # two flat-priced subscriptions of 29,90
    assert "R$\xa059,80" in summary.split('id="summary-paid"')[1][:40]  # both first invoices paid
    # Its subscriptions, newest first (the second one started later).
    subs = [Subscription.objects.get(pk=pk) for pk in (second.pk, shop.pk)]
    links = [page.find(reverse("admin:subscriptions_subscription_change", args=[s.pk])) for s in subs]
    assert all(i > 0 for i in links) and links[0] < links[1]


@pytest.mark.django_db(transaction=True)
def test_lists_fit_a_1366_px_screen(live_server, browser_context, django_user_model):
    start_clock(utc(2027, 1, 10, 12))
    make_plan("business", 19990, name="Empresarial (por profissional)", pricing_model="per_unit")
    for i in range(5):
        subscribe(make_customer(name=f"Fernanda Lopes Oliveira Nascimento {i}",
                                email=f"fernanda.lopes.oliveira.nascimento{i}@example.com"), "business", quantity=3)
    django_user_model.objects.create_user("owner", password="owner-pass-1", is_staff=True, is_superuser=True)
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "owner-pass-1")
    page.click("input[type=submit]")
    for model in ("subscriptions/subscription", "invoices/invoice", "customers/customer"):
        page.goto(f"{live_server.url}/admin/{model}/")
        page.wait_for_selector("#result_list")
        # The admin scrolls a wide table inside its box: compare the table with that box.
        overflow = page.evaluate("() => Math.max(document.documentElement.scrollWidth - window.innerWidth, "
                                 "document.querySelector('#result_list').scrollWidth - "
                                 "document.querySelector('#changelist .results').clientWidth)")
        assert overflow <= 0, (model, overflow)
        header = page.inner_text("#result_list thead").lower()
        if model != "customers/customer":
            assert "status" in header
