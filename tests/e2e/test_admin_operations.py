"""An owner acts on one subscription or invoice from its admin page (issue 15): buttons for what
can be done now, a plan or quantity change previewed with its proration, partial refunds and
credit notes for an amount — all through the services, refused cleanly, never twice."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.invoices.models import CreditNote, Invoice
from assina.payments.models import Refund
from assina.scheduler import advance_clock
from assina.subscriptions.models import ScheduledChange, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def sub():
    start_clock(utc(2027, 1, 10, 12))
    make_plan("team", 2000, name="Equipe", pricing_model="per_unit")
    make_plan("solo", 1000, name="Solo")
    return subscribe(make_customer(name="Ana Souza"), "team", quantity=1)


def _page(client, sub) -> str:
    return client.get(reverse("admin:subscriptions_subscription_change", args=[sub.pk])).content.decode()


def _operate(client, sub, name: str):
    return client.post(reverse("admin:subscriptions_subscription_operate", args=[sub.pk, name]), follow=True)


def test_the_page_is_titled_by_customer_and_plan_and_offers_what_applies_now(admin_client, sub):
    page = _page(admin_client, sub)
    assert "<h1>Ana Souza · Equipe</h1>" in page
    for op in ("op-change-plan", "op-cancel_at_period_end", "op-pause", "op-cancel_now"):
        assert f'id="{op}"' in page, op
    assert 'id="op-reactivate"' not in page and 'id="op-resume"' not in page


def test_cancel_at_period_end_then_reactivate_from_the_page(admin_client, sub):
    response = _operate(admin_client, sub, "cancel_at_period_end")
    assert "The subscription will end when the paid period ends." in response.content.decode()
    sub.refresh_from_db()
    assert sub.cancel_at_period_end
    page = _page(admin_client, sub)
    assert 'id="op-reactivate"' in page and 'id="op-cancel_at_period_end"' not in page
    _operate(admin_client, sub, "reactivate")
    sub.refresh_from_db()
    assert not sub.cancel_at_period_end


def test_pause_and_resume_from_the_page(admin_client, sub):
    _operate(admin_client, sub, "pause")
    sub.refresh_from_db()
    assert sub.status == "paused" and 'id="op-resume"' in _page(admin_client, sub)
    _operate(admin_client, sub, "resume")
    sub.refresh_from_db()
    assert sub.status == "active"


def test_a_refused_operation_says_why_and_changes_nothing(admin_client, sub):
    response = _operate(admin_client, sub, "reactivate")  # nothing to undo
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == "active" and not sub.cancel_at_period_end


def test_operations_are_posts_and_need_the_change_permission(client, admin_client, sub):
    url = reverse("admin:subscriptions_subscription_operate", args=[sub.pk, "cancel_now"])
    assert admin_client.get(url).status_code == 405
    viewer = User.objects.create_user("viewer", password="viewer-pass-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    client.force_login(viewer)
    assert client.post(url).status_code == 403
    assert 'id="op-cancel_now"' not in _page(client, sub)
    sub.refresh_from_db()
    assert sub.status == "active"


def test_a_quantity_change_is_previewed_with_its_proration_then_made(admin_client, sub):
    advance_clock(utc(2027, 1, 25, 12))  # halfway through the period
    url = reverse("admin:subscriptions_subscription_change_plan", args=[sub.pk])
    form = {"plan": "team", "quantity": "3", "when": "now"}
    preview = admin_client.post(url, {**form, "preview": "1"}).content.decode()
    assert 'id="change-preview"' in preview and 'id="confirm-change"' in preview
    net = preview.split('id="preview-net">')[1].split("<")[0]
    assert net.startswith("R$") and net not in ("R$0.00", "-R$0.00")
    assert Subscription.objects.get(pk=sub.pk).items.get().quantity == 1  # a preview changes nothing
    response = admin_client.post(url, {**form, "confirm": "1"}, follow=True)
    assert "The change is made." in response.content.decode()
    assert Subscription.objects.get(pk=sub.pk).items.get().quantity == 3


def test_a_plan_change_at_period_end_is_scheduled(admin_client, sub):
    url = reverse("admin:subscriptions_subscription_change_plan", args=[sub.pk])
    admin_client.post(url, {"plan": "solo", "quantity": "1", "when": "period_end", "confirm": "1"})
    assert ScheduledChange.objects.filter(subscription=sub).count() == 1
    assert Subscription.objects.get(pk=sub.pk).plan.code == "team"


def _give_back_url(invoice) -> str:
    return reverse("admin:invoices_invoice_give_back", args=[invoice.pk])


def _seen(client, invoice) -> str:
    page = client.get(_give_back_url(invoice)).content.decode()
    return page.split('name="seen" value="')[1].split('"')[0]


def test_a_partial_refund_and_a_credit_note_for_an_amount(admin_client, sub):
    invoice = Invoice.objects.get(subscription=sub, status="paid")
    page = admin_client.get(reverse("admin:invoices_invoice_change", args=[invoice.pk])).content.decode()
    assert 'id="op-give-back"' in page
    response = admin_client.post(_give_back_url(invoice), {"kind": "refund", "amount": "5,00", "reason": "late delivery",
                                                           "seen": _seen(admin_client, invoice)}, follow=True)
    assert response.status_code == 200
    assert [(r.amount, r.status) for r in Refund.objects.filter(invoice=invoice)] == [(500, "succeeded")]
    admin_client.post(_give_back_url(invoice), {"kind": "credit_note", "amount": "2.50", "reason": "",
                                                "seen": _seen(admin_client, invoice)})
    # The refund is recorded with its own credit note; the credit note for 2,50 is the second.
    assert list(CreditNote.objects.filter(invoice=invoice).order_by("pk").values_list("amount", flat=True)) == [500, 250]


def test_a_stale_form_or_a_double_click_gives_nothing_back_twice(admin_client, sub):
    invoice = Invoice.objects.get(subscription=sub, status="paid")
    data = {"kind": "refund", "amount": "5,00", "reason": "", "seen": _seen(admin_client, invoice)}
    admin_client.post(_give_back_url(invoice), data)
    again = admin_client.post(_give_back_url(invoice), data).content.decode()
    assert "since this page was opened" in again
    assert Refund.objects.filter(invoice=invoice).count() == 1


def test_too_much_or_a_bad_amount_is_refused_with_nothing_changed(admin_client, sub):
    invoice = Invoice.objects.get(subscription=sub, status="paid")
    for amount in ("500,00", "abc", "-1"):
        page = admin_client.post(_give_back_url(invoice), {"kind": "refund", "amount": amount, "reason": "",
                                                           "seen": _seen(admin_client, invoice)}).content.decode()
        assert "errorlist" in page, amount
    assert not Refund.objects.filter(invoice=invoice).exists()


def test_an_invoices_page_is_titled_by_its_number(admin_client, sub):
    invoice = Invoice.objects.get(subscription=sub, status="paid")
    page = admin_client.get(reverse("admin:invoices_invoice_change", args=[invoice.pk])).content.decode()
    assert f"<h1>Invoice {invoice.number}</h1>" in page


def test_the_cancellation_reason_is_shown_in_words(admin_client, sub):
    from assina.subscriptions import services

    services.cancel_now(sub.pk, reason="unused")
    page = admin_client.get(reverse("admin:subscriptions_subscription_change", args=[sub.pk]),
                            HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "Não está usando" in page and ">unused<" not in page
