"""Actions on a customer from the workspace (issue 20): each shows what it will do (with the
service's preview where there is one), acts only when confirmed, through the app's service, and
only for staff with the permission of what it changes; refusals come back in words and change
nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import translation
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.core.invoicing import FREE_SHIPPING_TEXT, PART_TEXT, DraftLine, LineKind
from assina.core.money import Money
from assina.engagement.models import CustomerNote, Task
from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.notifications.models import Message
from assina.payments.models import Refund
from assina.subscriptions.models import Subscription
from assina.time import now
from assina.workspace.views import _line_text

pytestmark = pytest.mark.django_db

T0 = utc(2027, 3, 1, 9)
SUBS = "subscriptions.change_subscription"


def staff(*perms: str, csrf: bool = False) -> Client:
    user = User.objects.create_user(f"u{User.objects.count()}", password="x", is_staff=True)
    for perm in ("customers.view_customer", *perms):
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label=app))
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def sub():
    start_clock(T0)
    make_plan("basic", 3000)
    make_plan("pro", 9000)
    customer = make_customer(email="ana@example.com", name="Ana")
    sub = subscribe(customer, "basic")
    start_clock(T0 + timedelta(days=15))
    return sub


def act(client, sub, action, confirm=True, **data):
    url = f"/workspace/customers/{sub.customer_id}/{action}/"
    data = {"subscription": sub.pk, **data}
    preview = client.post(url, data)
    if not confirm:
        return preview
    assert preview.status_code == 200, preview.status_code
    assert 'name="confirm" value="yes"' in preview.content.decode()
    return client.post(url, {**data, "confirm": "yes"}, follow=True)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_a_plan_change_shows_the_proration_then_changes_through_the_service(sub):
    owner = staff(SUBS)
    preview = act(owner, sub, "change", confirm=False, plan="pro", when="now")
    page = text(preview)
    assert "Unused time on Basic × 1" in page and "Remaining time on Pro × 1" in page
    assert "Net now: R$" in page and "on the next invoice" in page and "Pro × 1 from Basic × 1" in page
    assert Subscription.objects.get(pk=sub.pk).plan.code == "basic"  # a preview changes nothing
    done = act(owner, sub, "change", plan="pro", when="now")
    assert "Subscription changed." in text(done)
    assert Subscription.objects.get(pk=sub.pk).plan.code == "pro"
    assert Event.objects.filter(type="subscription.updated", subject_id=sub.pk).exists()


def test_discount_pause_resume_and_cancel_go_through_the_services(sub):
    owner = staff(SUBS)
    assert "Discount applied" in text(act(owner, sub, "discount", percent_off="20", periods="3"))
    assert Subscription.objects.get(pk=sub.pk).coupon.percent_off == 20
    assert "Subscription paused." in text(act(owner, sub, "pause"))
    assert Subscription.objects.get(pk=sub.pk).status == "paused"
    assert "Subscription resumed." in text(act(owner, sub, "resume"))
    assert Subscription.objects.get(pk=sub.pk).status == "active"
    assert "end of the paid period" in text(act(owner, sub, "cancel", when="period_end", reason="moving"))
    assert Subscription.objects.get(pk=sub.pk).cancel_at_period_end


def test_a_refused_action_says_why_in_the_owners_language_and_changes_nothing(sub):
    owner = staff(SUBS)
    both = act(owner, sub, "discount", confirm=False, percent_off="20", amount_off="5")
    assert both.status_code == 302
    assert "Give either a percentage or an amount off." in text(owner.get(both["Location"]))
    owner.post("/i18n/setlang/", {"language": "pt-br", "next": "/"})
    act(owner, sub, "pause")
    again = act(owner, sub, "pause", confirm=False)  # a paused subscription cannot be paused
    assert again.status_code == 200  # the preview still shows; the service refuses on confirming
    refused = owner.post(f"/workspace/customers/{sub.customer_id}/pause/", {"subscription": sub.pk, "confirm": "yes"}, follow=True)
    assert "uma assinatura pausada não pode ser pausada" in text(refused).lower()
    assert Subscription.objects.get(pk=sub.pk).status == "paused"


def test_a_refund_of_a_paid_invoice(sub):
    invoice = Invoice.objects.get(subscription=sub)
    owner = staff("payments.add_refund")
    preview = owner.post(f"/workspace/customers/{sub.customer_id}/refund/", {"invoice": invoice.pk, "amount": "10.00"})
    assert "R$10.00" in text(preview) and "R$30.00" in text(preview)
    done = owner.post(f"/workspace/customers/{sub.customer_id}/refund/",
                      {"invoice": invoice.pk, "amount": "10.00", "confirm": "yes"}, follow=True)
    assert "Refund of R$10.00 made." in text(done)
    assert list(Refund.objects.values_list("amount", "status")) == [(1000, "succeeded")]


def test_portal_link_note_and_tasks(sub):
    customer_id = sub.customer_id
    owner = staff("portal.add_portallink", "engagement.add_customernote", "engagement.add_task", "engagement.change_task")
    assert "Portal link e-mailed to ana@example.com." in text(act(owner, sub, "portal_link"))
    assert Message.objects.filter(template="portal_link", to_email="ana@example.com").exists()
    owner.post(f"/workspace/customers/{customer_id}/note/", {"kind": "call", "body": "Asked about invoices"})
    assert list(CustomerNote.objects.values_list("kind", "body")) == [("call", "Asked about invoices")]
    owner.post(f"/workspace/customers/{customer_id}/task/", {"title": "Call back", "due": "2027-03-20"})
    task = Task.objects.get()
    assert task.title == "Call back" and task.due_at.date().isoformat() == "2027-03-20"
    page = text(owner.get(f"/workspace/customers/{customer_id}/"))
    assert "Asked about invoices" in page and "Call back" in page
    owner.post(f"/workspace/customers/{customer_id}/task_done/", {"task": task.pk})
    assert Task.objects.get().done_at == now()
    empty = owner.post(f"/workspace/customers/{customer_id}/note/", {"kind": "note", "body": " "}, follow=True)
    assert "a note needs some text" in text(empty).lower() and CustomerNote.objects.count() == 1


def test_each_action_needs_its_permission_and_a_csrf_token(sub):
    viewer = staff()
    for action in ("change", "discount", "pause", "cancel", "refund", "portal_link", "note", "task"):
        assert viewer.post(f"/workspace/customers/{sub.customer_id}/{action}/", {"subscription": sub.pk}).status_code == 403
    assert viewer.get(f"/workspace/customers/{sub.customer_id}/pause/").status_code == 405  # a GET never acts
    page = text(viewer.get(f"/workspace/customers/{sub.customer_id}/"))
    assert "Change plan or quantity" not in page and "Add a note" not in page
    no_token = staff(SUBS, csrf=True)
    assert no_token.post(f"/workspace/customers/{sub.customer_id}/pause/",
                         {"subscription": sub.pk, "confirm": "yes"}).status_code == 403
    assert Subscription.objects.get(pk=sub.pk).status == "active"
    other = make_customer(email="zed@example.com")
    owner = staff(SUBS)
    # Another customer's subscription cannot be reached through this customer's page.
    wrong = owner.post(f"/workspace/customers/{other.pk}/pause/", {"subscription": sub.pk, "confirm": "yes"}, follow=True)
    assert "Choose one of this customer&#x27;s subscriptions." in text(wrong)
    assert Subscription.objects.get(pk=sub.pk).status == "active"


def test_a_preview_lines_amounts_are_written_for_the_owners_language():
    """No action's preview shows a line with an amount in its text today (a plan change's lines
    name the plan and quantity); a line that has one reads as the owner's customers read it."""
    def line(template: str, params: dict) -> DraftLine:
        return DraftLine(kind=LineKind.BUNDLE_PART, description="", amount=0, period_start=T0, period_end=T0,
                         description_template=template, description_params=params)

    part = line(PART_TEXT, {"part": "Coffee", "value": Money(1000, "BRL")})
    shipping = line(FREE_SHIPPING_TEXT, {"threshold": Money(15000, "BRL")})
    with translation.override("en"):
        assert (_line_text(part), _line_text(shipping)) == ("Included: Coffee (worth R$10.00)",
                                                            "Shipping: free from R$150.00")
    with translation.override("pt-br"):
        assert [t.replace("\xa0", " ") for t in (_line_text(part), _line_text(shipping))] == [
            "Incluído: Coffee (vale R$ 10,00)", "Frete: grátis a partir de R$ 150,00"]
