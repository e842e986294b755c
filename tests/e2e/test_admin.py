"""The Django admin: every model renders, money records are read-only, changes go through the
services (actions and add forms), and the admin speaks Brazilian Portuguese."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from assina.catalog.models import Coupon, Plan, PlanVersion, Product, PromotionCode
from assina.catalog.services import create_coupon, create_plan, create_promotion_code
from assina.clock.models import ClockState
from assina.clock.services import freeze_clock
from assina.time import now
from assina.customers.models import BalanceTransaction, Customer
from assina.events.models import Event
from assina.invoices.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    NumberSequence,
    PendingItem,
)
from assina.invoices.services import create_credit_note
from assina.payments.models import (
    PaymentAttempt,
    PaymentMethod,
    SandboxCard,
    SandboxCharge,
)
from assina.payments.new_customer import create_customer
from assina.payments.services import attach_card_token, check_card
from assina.subscriptions.changes import change_subscription
from assina.subscriptions.models import ScheduledChange, Subscription, SubscriptionItem
from assina.subscriptions.services import create_subscription

GOOD_CARD = "4242424242424242"
FAILING_CARD = "4000000000000341"  # attaches, then every charge is declined
START = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def run_action(client, model, action: str, objs) -> list[str]:
    """Run a changelist action like a browser (following the redirect); return the messages shown."""
    response = client.post(admin_url(model, "changelist"),
                           {"action": action, "_selected_action": [o.pk for o in objs]}, follow=True)
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") and attrs.get("type") not in ("submit", "checkbox"):
            self.values.setdefault(attrs["name"], attrs.get("value") or "")


def form_inputs(client, url: str) -> dict[str, str]:
    """The inputs a browser would send back from the page (hidden inline management forms too)."""
    parser = _Inputs()
    parser.feed(client.get(url).content.decode())
    parser.values.pop("csrfmiddlewaretoken", None)
    return parser.values


@pytest.fixture
def admin_user(django_user_model):
    """pytest-django's superuser without a password: hashing one costs most of a second per test."""
    user = django_user_model(username="admin", email="admin@example.com", is_staff=True, is_superuser=True)
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def billing():
    """A small business built through the services: a paid and an unpaid subscription, an
    add-on, a coupon, a proration waiting for the next invoice, a scheduled change, a credit note."""
    freeze_clock(START)
    create_plan(code="basic", name="Basic", amount=4990, currency="BRL", interval="month", at=now(), pricing_model="per_unit")
    create_plan(code="pro", name="Pro", amount=9990, currency="BRL", interval="month", at=now())
    create_plan(code="extra-seat", name="Extra seat", amount=1000, currency="BRL", interval="month", at=now(), kind="addon",
                pricing_model="per_unit")
    create_coupon(code="welcome10", duration="once", percent_off="10", at=now())
    create_promotion_code(code="HELLO", coupon_code="welcome10", at=now())
    paying = create_customer(email="ana@example.com", name="Ana", at=now(), currency="BRL", card=GOOD_CARD)
    failing = create_customer(email="bruno@example.com", at=now(), currency="BRL", card=FAILING_CARD)
    paid_sub = create_subscription(customer=paying, plan_code="basic", coupon_code="HELLO", addons=[("extra-seat", 2)])
    unpaid_sub = create_subscription(customer=failing, plan_code="basic")
    change_subscription(paid_sub.pk, quantity=2)  # proration carried to the next invoice
    change_subscription(paid_sub.pk, plan_code="pro", at_period_end=True)
    paid = Invoice.objects.get(subscription=paid_sub)
    create_credit_note(paid.pk, 500, "Goodwill", now())
    return {"paid_sub": paid_sub, "unpaid_sub": unpaid_sub, "paid": paid,
            "open": Invoice.objects.get(subscription=unpaid_sub), "paying": paying, "failing": failing}


EVERY_MODEL = [
    Event, ClockState, Customer, BalanceTransaction, Product, Plan, PlanVersion, Coupon, PromotionCode,
    Subscription, SubscriptionItem, ScheduledChange, NumberSequence, Invoice, InvoiceLine, PendingItem, CreditNote,
    PaymentMethod, PaymentAttempt, SandboxCard, SandboxCharge,
]


@pytest.mark.django_db
@pytest.mark.parametrize("model", EVERY_MODEL, ids=lambda m: m._meta.label)
def test_every_model_changelist_and_change_page_render_with_data(admin_client, billing, model):
    obj = model.objects.order_by("pk").first()
    assert obj is not None, f"the fixture created no {model._meta.label}"
    changelist = admin_client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert admin_url(model, "change", obj.pk) in changelist.content.decode()
    change = admin_client.get(admin_url(model, "change", obj.pk))
    assert change.status_code == 200
    assert str(model._meta.verbose_name) in change.content.decode().lower()


@pytest.mark.django_db
def test_invoice_pages_show_money_formatted_from_minor_units(admin_client, billing):
    paid = billing["paid"]
    # basic 49.90 + 2 seats of 10.00, minus 10% once = 62.91 BRL
    assert paid.total == 6291
    changelist = admin_client.get(admin_url(Invoice, "changelist")).content.decode()
    assert "R$62.91" in changelist
    page = admin_client.get(admin_url(Invoice, "change", paid.pk)).content.decode()
    assert "R$62.91" in page  # total
    assert "R$49.90" in page  # the plan's line
    assert "-R$6.99" in page  # the coupon's line
    assert "R$5.00" in page  # the credit note
    # As a Brazilian writes money (Babel's pt-BR pattern, as the e-mails and PDFs).
    page = admin_client.get(admin_url(Invoice, "change", paid.pk), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "R$\xa062,91" in page and "-R$\xa06,99" in page
    customer_page = admin_client.get(admin_url(Customer, "change", billing["paying"].pk)).content.decode()
    assert paid.number in customer_page and admin_url(Invoice, "change", paid.pk) in customer_page


@pytest.mark.django_db
def test_portuguese_request_shows_portuguese_labels(admin_client, billing):
    index = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    for label in ("Assinaturas", "Faturas", "Clientes", "Cupons", "Planos", "Eventos"):
        assert label in index, label
    invoices = admin_client.get(admin_url(Invoice, "changelist"), HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    assert "Anular" in invoices and "Tentar cobrar agora" in invoices
    assert "Situação" in invoices and "Paga" in invoices
    plans = admin_client.get(admin_url(Plan, "changelist"), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "1 mês" in plans and "Por intervalo" in plans and "Adicional" in plans
    english = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Subscriptions" in english and "Assinaturas" not in english


@pytest.mark.django_db
def test_language_switcher_sets_portuguese(admin_client, billing):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert reverse("set_language") in page
    response = admin_client.post(reverse("set_language"), {"language": "pt-br", "next": reverse("admin:index")})
    assert response.status_code == 302
    assert "Assinaturas" in admin_client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db(transaction=True)  # collecting commits its attempt before charging
def test_portuguese_request_shows_refusals_and_declines_in_portuguese(admin_client, billing):
    paid, open_invoice = billing["paid"], billing["open"]

    def run_in_portuguese(model, action: str, objs) -> list[str]:
        response = admin_client.post(admin_url(model, "changelist"), {"action": action, "_selected_action": [o.pk for o in objs]},
                                     follow=True, HTTP_ACCEPT_LANGUAGE="pt-br")
        assert response.status_code == 200
        return [str(m) for m in response.context["messages"]]

    # Refused by the core (the invoice state machine) and by a service; a decline from the sandbox.
    assert run_in_portuguese(Invoice, "void", [paid]) == [f"{paid.number}: uma fatura paga não pode se tornar anulada"]
    assert run_in_portuguese(Invoice, "collect_now", [paid]) == [
        f"{paid.number}: a fatura {paid.number} está paga; só faturas em aberto podem ser pagas"]
    assert run_in_portuguese(Invoice, "collect_now", [open_invoice]) == [
        f"{open_invoice.number}: o pagamento falhou: Seu cartão foi recusado.", "1 fatura: cobrança tentada."]
    assert Invoice.objects.get(pk=paid.pk).status == "paid"
    # A form error from the core's amount parser.
    form = admin_client.post(admin_url(Plan, "add"), plan_form(amount="49.999"), HTTP_ACCEPT_LANGUAGE="pt-br")
    assert form.status_code == 200 and "valores em BRL têm no máximo 2 casas decimais" in form.content.decode()
    # The same refusal for an English request is the English sentence.
    assert run_action(admin_client, Invoice, "void", [paid]) == [f"{paid.number}: cannot move an invoice from paid to void"]


@pytest.mark.django_db
def test_invoice_cannot_be_added_changed_or_deleted(admin_client, billing):
    invoice = billing["open"]
    assert admin_client.get(admin_url(Invoice, "add")).status_code == 403
    assert admin_client.post(admin_url(Invoice, "add"), {"status": "paid"}).status_code == 403
    assert admin_client.post(admin_url(Invoice, "delete", invoice.pk), {"post": "yes"}).status_code == 403
    assert admin_client.post(admin_url(Invoice, "change", invoice.pk), {"status": "paid"}).status_code == 403
    response = admin_client.post(admin_url(Invoice, "changelist"),
                                 {"action": "delete_selected", "_selected_action": [invoice.pk], "post": "yes"})
    assert Invoice.objects.filter(pk=invoice.pk, status="open").exists()
    assert "delete_selected" not in admin_client.get(admin_url(Invoice, "changelist")).content.decode()
    assert response.status_code in (200, 302)


@pytest.mark.django_db
def test_void_action_voids_an_open_invoice_and_records_the_event(admin_client, billing):
    invoice = billing["open"]
    assert run_action(admin_client, Invoice, "void", [invoice]) == ["1 invoice voided."]
    invoice.refresh_from_db()
    assert invoice.status == "void"
    assert invoice.voided_at == START
    assert Event.objects.filter(type="invoice.voided", subject_type="invoice", subject_id=invoice.pk).count() == 1


@pytest.mark.django_db
def test_failing_action_shows_the_error_and_changes_nothing(admin_client, billing):
    paid, open_invoice = billing["paid"], billing["open"]
    events_before = Event.objects.count()
    assert run_action(admin_client, Invoice, "void", [paid]) == [f"{paid.number}: cannot move an invoice from paid to void"]
    paid.refresh_from_db()
    assert paid.status == "paid" and paid.voided_at is None
    assert Event.objects.count() == events_before
    # One failing object does not stop the others: each is its own service call.
    assert run_action(admin_client, Invoice, "void", [paid, open_invoice]) == [
        f"{paid.number}: cannot move an invoice from paid to void", "1 invoice voided."]
    assert Invoice.objects.get(pk=open_invoice.pk).status == "void"
    assert Invoice.objects.get(pk=paid.pk).status == "paid"


@pytest.mark.django_db
def test_mark_uncollectible_action(admin_client, billing):
    invoice = billing["open"]
    assert run_action(admin_client, Invoice, "mark_uncollectible", [invoice]) == ["1 invoice marked uncollectible."]
    invoice.refresh_from_db()
    assert invoice.status == "uncollectible"
    assert Event.objects.filter(type="invoice.marked_uncollectible", subject_id=invoice.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_collect_now_action_pays_an_open_invoice_with_a_new_card(admin_client, billing):
    invoice, customer = billing["open"], billing["failing"]
    messages = run_action(admin_client, Invoice, "collect_now", [invoice])
    assert messages == [f"{invoice.number}: the payment failed: Your card was declined.", "1 invoice: payment attempted."]
    assert Invoice.objects.get(pk=invoice.pk).status == "open"
    from django.db import transaction

    with transaction.atomic():  # kept without attach_card's immediate retry: the action collects
        attach_card_token(customer, check_card(GOOD_CARD, now()), now())
    assert run_action(admin_client, Invoice, "collect_now", [invoice]) == ["1 invoice: payment attempted."]
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_paid == 4990
    assert Subscription.objects.get(pk=billing["unpaid_sub"].pk).status == "active"
    statuses = list(PaymentAttempt.objects.filter(invoice=invoice).order_by("number").values_list("status", flat=True))
    assert statuses == ["failed", "failed", "succeeded"]
    assert run_action(admin_client, Invoice, "collect_now", [invoice]) == [
        f"{invoice.number}: invoice {invoice.number} is paid; only open invoices can be paid"]


@pytest.mark.django_db
def test_subscription_actions_call_the_services(admin_client, billing):
    sub = billing["paid_sub"]
    before = Event.objects.order_by("-id").values_list("id", flat=True).first()
    assert run_action(admin_client, Subscription, "cancel_at_period_end", [sub]) == [
        "1 subscription will cancel at period end."]
    sub.refresh_from_db()
    assert sub.cancel_at_period_end and sub.status == "active"
    assert run_action(admin_client, Subscription, "pause", [sub]) == [
        f"sub_{sub.pk}: the subscription is set to cancel at period end; reactivate it before pausing"]
    assert Subscription.objects.get(pk=sub.pk).status == "active"
    assert run_action(admin_client, Subscription, "reactivate", [sub]) == ["1 subscription reactivated."]
    assert run_action(admin_client, Subscription, "pause", [sub]) == ["1 subscription paused."]
    sub.refresh_from_db()
    assert sub.status == "paused" and not sub.cancel_at_period_end
    assert run_action(admin_client, Subscription, "cancel_now", [sub]) == ["1 subscription canceled."]
    sub.refresh_from_db()
    assert sub.status == "canceled" and sub.ended_at == START
    types = list(Event.objects.filter(id__gt=before, subject_type="subscription").order_by("id").values_list("type", flat=True))
    assert types == ["subscription.cancel_scheduled", "subscription.reactivated", "subscription.updated",
                     "subscription.paused", "subscription.updated", "subscription.canceled"]


@pytest.mark.django_db
def test_subscriptions_cannot_be_edited_in_place(admin_client, billing):
    sub = billing["paid_sub"]
    response = admin_client.post(admin_url(Subscription, "change", sub.pk), {"status": "canceled"})
    assert response.status_code == 403
    assert Subscription.objects.get(pk=sub.pk).status == "active"


def plan_form(**overrides) -> dict:
    data = {"code": "team", "name": "Team", "kind": "base", "product_code": "", "currency": "BRL",
            "pricing_model": "flat", "amount": "49.90", "package_size": "1", "tiers": "", "interval": "month",
            "interval_count": "1", "trial_days": "0"}
    return {**data, **overrides}


@pytest.mark.django_db
def test_plan_add_form_creates_version_one_in_minor_units(admin_client, billing):
    response = admin_client.post(admin_url(Plan, "add"), plan_form())
    assert response.status_code == 302, response.content.decode()
    plan = Plan.objects.get(code="team")
    versions = list(plan.versions.values_list("version", "unit_amount", "currency"))
    assert versions == [(1, 4990, "BRL")]
    assert Event.objects.filter(type="plan.created", subject_id=plan.pk).count() == 1


@pytest.mark.django_db
def test_plan_add_form_accepts_tiers_in_decimals(admin_client, billing):
    response = admin_client.post(admin_url(Plan, "add"), plan_form(
        pricing_model="graduated", amount="", tiers="10 5.00\n* 4.50 1.25"))
    assert response.status_code == 302, response.content.decode()
    plan = Plan.objects.get(code="team")
    assert plan.current_version().tiers == [
        {"up_to": 10, "unit_amount": 500, "flat_amount": 0}, {"up_to": None, "unit_amount": 450, "flat_amount": 125}]

    url = admin_url(Plan, "change", plan.pk)
    refused = admin_client.post(url, {**form_inputs(admin_client, url), "new_price": "9.90"})
    assert refused.status_code == 200 and "This plan has tiered prices" in refused.content.decode()
    response = admin_client.post(url, {**form_inputs(admin_client, url), "new_tiers": "5 6.00\n* 5,50"})
    assert response.status_code == 302, response.content.decode()
    assert list(plan.versions.values_list("version", "pricing_model", "tiers")) == [
        (1, "graduated", [{"up_to": 10, "unit_amount": 500, "flat_amount": 0},
                          {"up_to": None, "unit_amount": 450, "flat_amount": 125}]),
        (2, "graduated", [{"up_to": 5, "unit_amount": 600, "flat_amount": 0},
                          {"up_to": None, "unit_amount": 550, "flat_amount": 0}]),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value", "error"), [
    ("amount", "abc", "is not a valid amount"),
    ("amount", "49.999", "BRL amounts have at most 2 decimals"),
    ("currency", "XYZ", "is not a known ISO 4217 currency code"),
    ("code", "basic", "a plan with code &#x27;basic&#x27; already exists"),
])
def test_plan_add_form_shows_errors_and_creates_nothing(admin_client, billing, field, value, error):
    plans, versions, events = Plan.objects.count(), PlanVersion.objects.count(), Event.objects.count()
    response = admin_client.post(admin_url(Plan, "add"), plan_form(**{field: value}))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert response.context["adminform"].form.errors
    assert (Plan.objects.count(), PlanVersion.objects.count(), Event.objects.count()) == (plans, versions, events)


@pytest.mark.django_db
def test_plan_edit_changes_name_and_new_price_adds_a_version(admin_client, billing):
    plan = Plan.objects.get(code="basic")
    url = admin_url(Plan, "change", plan.pk)
    data = {**form_inputs(admin_client, url), "name": "Basic 2027", "active": "on", "new_price": "59,90"}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    plan.refresh_from_db()
    assert plan.name == "Basic 2027"
    assert list(plan.versions.values_list("version", "unit_amount")) == [(1, 4990), (2, 5990)]
    assert Event.objects.filter(type="plan.price_changed", subject_id=plan.pk).count() == 1
    assert Event.objects.get(type="plan.updated", subject_id=plan.pk).data == {"name": "Basic 2027"}
    # the subscription keeps the price it signed up for (grandfathered)
    assert billing["paid_sub"].items.get(plan_version__plan=plan).plan_version.version == 1

    data = {**form_inputs(admin_client, url), "name": "Other", "active": "on", "new_price": "abc"}
    bad = admin_client.post(url, data)
    assert bad.status_code == 200 and "is not a valid amount" in bad.content.decode()
    plan.refresh_from_db()
    assert plan.name == "Basic 2027" and plan.versions.count() == 2


@pytest.mark.django_db
def test_coupon_and_customer_add_forms_use_the_services(admin_client, billing):
    response = admin_client.post(admin_url(Coupon, "add"), {
        "code": "five-off", "name": "", "percent_off": "", "amount_off": "5.00", "currency": "brl",
        "duration": "repeating", "duration_periods": "3", "plans": ["basic"], "redeem_by_0": "", "redeem_by_1": "", "max_redemptions": "",
    })
    assert response.status_code == 302, response.content.decode()
    coupon = Coupon.objects.get(code="five-off")
    assert (coupon.amount_off, coupon.currency, coupon.duration_periods) == (500, "BRL", 3)
    assert list(coupon.plans.values_list("code", flat=True)) == ["basic"]

    response = admin_client.post(admin_url(Customer, "add"), {
        "email": "carla@example.com", "name": "Carla", "locale": "pt-BR", "currency": "BRL", "time_zone": "America/Sao_Paulo",
        "country": "br", "tax_id": "", "card": "4242 4242 4242 4242",
    })
    assert response.status_code == 302, response.content.decode()
    carla = Customer.objects.get(email="carla@example.com")
    assert carla.default_payment_method.last4 == "4242" and carla.country == "BR"
    declined = admin_client.post(admin_url(Customer, "add"), {
        "email": "dora@example.com", "locale": "en", "currency": "BRL", "time_zone": "UTC", "card": "4000000000000002",
    })
    assert declined.status_code == 200 and "declined" in declined.content.decode()
    assert not Customer.objects.filter(email="dora@example.com").exists()


@pytest.mark.django_db(transaction=True)
def test_subscription_add_form_subscribes_and_charges(admin_client, billing):
    carla = create_customer(email="carla@example.com", at=now(), currency="BRL", card=GOOD_CARD)
    response = admin_client.post(admin_url(Subscription, "add"), {
        "customer": "carla@example.com", "plan": "pro", "quantity": "1", "addons": "extra-seat:3", "coupon": "",
        "trial_days": "", "start_0": "", "start_1": "",
    })
    assert response.status_code == 302, response.content.decode()
    sub = Subscription.objects.get(customer=carla)
    assert sub.status == "active"
    assert Invoice.objects.get(subscription=sub).amount_paid == 9990 + 3 * 1000
    bad = admin_client.post(admin_url(Subscription, "add"), {
        "customer": "nobody@example.com", "plan": "pro", "quantity": "1", "addons": "", "coupon": "", "trial_days": "",
        "start_0": "", "start_1": "",
    })
    assert bad.status_code == 200 and "unknown customer" in bad.content.decode()
    assert Subscription.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_advancing_the_clock_in_the_admin_processes_due_work(admin_client, billing):
    paid_sub = billing["paid_sub"]
    url = admin_url(ClockState, "change", 1)
    data = {**form_inputs(admin_client, url), "advance_to_0": "2027-01-05", "advance_to_1": "00:00:00"}
    refused = admin_client.post(url, data)
    assert refused.status_code == 200 and "the clock cannot go backwards" in refused.content.decode()
    assert now() == START

    data.update({"advance_to_0": "2027-02-10", "advance_to_1": "13:00:00"})
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    assert now() == datetime(2027, 2, 10, 13, 0, tzinfo=UTC)
    renewal = Invoice.objects.get(subscription=paid_sub, billing_reason="subscription_cycle")
    assert renewal.period_start == datetime(2027, 2, 10, 12, 0, tzinfo=UTC)
    assert Subscription.objects.get(pk=paid_sub.pk).plan.code == "pro"  # the scheduled change took effect


@pytest.mark.django_db
def test_customer_edit_changes_descriptive_fields_only_and_records_an_event(admin_client, billing):
    customer = billing["paying"]
    url = admin_url(Customer, "change", customer.pk)
    data = {**form_inputs(admin_client, url), "name": "Ana Souza", "locale": "pt-BR", "country": "BR", "tax_id": "",
            "email": "mallory@example.com", "credit_balance": "100000"}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    customer.refresh_from_db()
    assert (customer.name, customer.locale, customer.country) == ("Ana Souza", "pt-BR", "BR")
    assert (customer.email, customer.credit_balance) == ("ana@example.com", 500)  # read-only fields ignored
    event = Event.objects.get(type="customer.updated", subject_id=customer.pk)
    assert event.data == {"changed": ["country", "locale", "name"]}  # the service names fields, not their values


@pytest.mark.django_db
def test_staff_who_may_only_view_invoices_cannot_run_actions(client, django_user_model, billing):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    client.force_login(viewer)
    invoice = billing["open"]
    page = client.get(admin_url(Invoice, "changelist"))
    assert page.status_code == 200 and invoice.number in page.content.decode()
    assert 'value="void"' not in page.content.decode()
    client.post(admin_url(Invoice, "changelist"), {"action": "void", "_selected_action": [invoice.pk]})
    assert Invoice.objects.get(pk=invoice.pk).status == "open"
    assert not Event.objects.filter(type="invoice.voided").exists()
