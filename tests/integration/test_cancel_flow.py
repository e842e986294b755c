"""The portal's cancel flow (issue 16): reason → one offer that fits it → confirm.

- Each reason shows the offer its rule gives (defaults: not using it → a pause, too expensive →
  20 % off for 3 periods, switched → nothing, the others → "tell us more").
- Accepting applies the offer at once on the live subscription (a pause, a discount on the next
  invoices, a cheaper plan) and says so on the page and by e-mail.
- Declining leads to the confirmation; confirming cancels at the period end, and the
  cancellation e-mail's one-click link (until that end) undoes it.
- Variants are assigned at random but stably; a customer takes at most N offers per window.
- A session sees only its customer's subscriptions and sessions (404); every POST needs the
  CSRF token; a GET changes nothing; a session idle for an hour is abandoned by the job.
- Each step is an event, written with the step.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.test import Client
from factories import advance, event_types, invoices_of, last_event_id, make_customer, make_plan, reload, start_clock, subscribe, utc
from portal_support import signed_in

from assina.events.models import Event
from assina.invoices.models import InvoiceLine
from assina.notifications.models import Message
from assina.retention import rules
from assina.retention.models import CancelOffer, CancelReason, CancelSession, RetentionSettings
from assina.scheduler import run_jobs
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)  # requests need every app (auth, sessions)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode().replace("\xa0", " "))


def _token(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def _signed_in(customer) -> Client:
    return signed_in(customer, flow="cancel")


def _post(client: Client, path: str, data: dict | None = None):
    """A POST as the flow's forms send it (with the CSRF token the portal's pages carry)."""
    token = _token(client.get("/portal/"))
    return client.post(path, {"csrfmiddlewaretoken": token, **(data or {})})


def _start(client: Client, sub, reason: str, text: str = "") -> str:
    """Step 1: the reason; returns the path of the session's next step."""
    page = client.get(f"/portal/cancel/{sub.pk}/")
    assert page.status_code == 200
    response = client.post(f"/portal/cancel/{sub.pk}/", {"csrfmiddlewaretoken": _token(page), "reason": reason,
                                                         "reason_text": text})
    assert response.status_code == 302, _text(response)
    return response["Location"]


def _session(sub) -> CancelSession:
    return CancelSession.objects.filter(subscription=sub).order_by("-pk").first()


def _messages(template: str, customer) -> list[Message]:
    return list(Message.objects.filter(template=template, customer=customer).order_by("pk"))


@pytest.fixture
def shop():
    start_clock(utc(2027, 1, 1, 9))
    make_plan("basic", 3000, name="Basic")
    make_plan("pro", 6000, name="Pro")
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="en")
    bia = make_customer(email="bia@example.com", name="Bia Lima", locale="pt-BR")
    asub, bsub = subscribe(ana, "pro"), subscribe(bia, "pro")
    advance(utc(2027, 1, 16, 9))
    return ana, asub, bia, bsub


EXPECTED = {
    "unused": ("pause", "Would a break help?"),
    "too_expensive": ("discount", "Stay with a discount?"),
    "missing_features": ("feedback", "Tell us more"),
    "low_quality": ("feedback", "Tell us more"),
    "customer_service": ("feedback", "Tell us more"),
    "too_complex": ("feedback", "Tell us more"),
    "other": ("feedback", "Tell us more"),
    "switched_service": ("none", "Cancel your Pro subscription?"),
}


def test_each_reason_shows_the_offer_that_fits_it(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    reasons = _text(client.get(f"/portal/cancel/{asub.pk}/"))
    assert "It&#x27;s too expensive" in reasons and "I don&#x27;t use it enough" in reasons and "Step 1 of 3" in reasons
    for reason, (kind, title) in EXPECTED.items():
        page = _text(client.get(_start(client, asub, reason)))
        session = _session(asub)
        assert (session.reason, session.offer_kind) == (reason, kind)
        assert f"<h1>{title}</h1>" in page, (reason, page)
        assert (session.offer_shown_at is not None) == (kind != "none")
    assert "You are not charged until February 16, 2027" in _text(client.get(_start(client, asub, "unused")))
    assert "20% off your next 3 payments: you pay R$48.00 instead of R$60.00 each time." in _text(
        client.get(_start(client, asub, "too_expensive")))
    # Each new start abandoned the one before it: one session is open.
    assert CancelSession.objects.filter(subscription=asub, outcome="open").count() == 1
    assert reload(asub).status == "active" and not reload(asub).cancel_at_period_end


def test_accepting_the_pause_pauses_at_once_and_says_until_when(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    since = last_event_id()
    step = _start(client, asub, "unused", "Busy month")
    done = _post(client, step + "accept")
    assert done.status_code == 302 and done["Location"] == step
    page = _text(client.get(step))
    assert "Thank you for staying" in page and "Your subscription is paused until February 16, 2027" in page
    sub = reload(asub)
    assert sub.status == "paused" and sub.resumes_at == utc(2027, 2, 16, 9)
    session = _session(asub)
    assert (session.outcome, session.reason_text, session.offer_terms["periods"]) == ("saved", "Busy month", 1)
    assert session.offer_accepted_at == session.completed_at == now()
    events = [t for t in event_types(since_id=since) if t.startswith(("cancel_flow", "subscription.paused"))]
    assert events == ["cancel_flow.started", "cancel_flow.reason_given", "cancel_flow.offer_shown", "subscription.paused",
                      "cancel_flow.offer_accepted", "cancel_flow.completed"]
    run_jobs(now(), at_due_time=False)  # the pause's own message tells it, with the date
    [paused] = _messages("paused", ana)
    assert "February 16, 2027" in paused.html
    # Time passes: it resumes by itself on that date and bills again.
    advance(utc(2027, 2, 16, 10))
    assert reload(asub).status == "active"


def test_accepting_the_discount_puts_it_on_the_live_subscription_and_mails_it(shop):
    _ana, _asub, bia, bsub = shop
    client = _signed_in(bia)
    step = _start(client, bsub, "too_expensive")
    offer = _text(client.get(step))
    assert "Fique com um desconto?" in offer and "20% de desconto nos próximos 3 pagamentos" in offer
    assert _post(client, step + "accept").status_code == 302
    page = _text(client.get(step))
    assert "Obrigado por ficar" in page and "Seu desconto está ativo" in page
    sub = reload(bsub)
    assert sub.coupon.percent_off == Decimal("20") and sub.discount_applies_from == utc(2027, 2, 1, 9)
    assert sub.discount_applies_until == utc(2027, 5, 1, 9)
    [mail] = _messages("retention_offer_accepted", bia)
    assert "Seu desconto de 20% em Pro está ativo" in mail.subject
    assert "nos próximos 3 pagamentos" in mail.html and "R$ 48,00 em vez de R$ 60,00" in mail.html.replace("\xa0", " ")
    # The next invoice carries it.
    advance(utc(2027, 2, 1, 10))
    invoice = invoices_of(sub)[-1]
    assert invoice.total == 4800
    assert InvoiceLine.objects.filter(invoice=invoice, kind="discount").values_list("amount", flat=True).get() == -1200


def test_a_cheaper_plan_is_previewed_then_applied(shop):
    ana, asub, _bia, _bsub = shop
    rules.settings_row()  # the defaults are written on first use
    CancelOffer.objects.filter(reason="too_expensive").update(kind="plan_change", percent_off=None, discount_periods=None)
    client = _signed_in(ana)
    step = _start(client, asub, "too_expensive")
    page = _text(client.get(step))
    assert "Switch to Basic for R$30.00 every month instead of R$60.00 every month." in page
    # 16 of January's 31 days are left: R$60.00 × 16/31 = 30.97 back, R$30.00 × 16/31 = 15.48 charged.
    assert "For the rest of the current period you get R$15.49 back, taken off your next invoice." in page
    assert reload(asub).plan.code == "pro"  # the preview changed nothing
    assert _post(client, step + "accept").status_code == 302
    assert reload(asub).plan.code == "basic"
    assert "You are now on Basic: R$30.00 every month." in _text(client.get(step))
    [mail] = _messages("retention_offer_accepted", ana)
    assert mail.subject == "Your subscription is now on Basic"


def test_declining_cancels_at_period_end_and_the_emails_link_undoes_it(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    since = last_event_id()
    step = _start(client, asub, "missing_features")
    assert "Tell us more" in _text(client.get(step))
    _post(client, step + "decline", {"feedback_text": "An export to spreadsheets, please."})
    confirm = _text(client.get(step))
    assert "Step 3 of 3" in confirm and "Your subscription ends on <strong>February 1, 2027</strong>" in confirm
    assert _post(client, step + "confirm").status_code == 302
    done = _text(client.get(step))
    assert "Your subscription is cancelled" in done and "You keep access until February 1, 2027" in done
    sub = reload(asub)
    assert sub.cancel_at_period_end and sub.status == "active" and sub.cancel_reason == "missing_features"
    session = _session(asub)
    assert (session.outcome, session.feedback_text) == ("canceled", "An export to spreadsheets, please.")
    assert [t for t in event_types(since_id=since) if t.startswith(("cancel_flow", "subscription.cancel"))] == [
        "cancel_flow.started", "cancel_flow.reason_given", "cancel_flow.offer_shown", "cancel_flow.offer_declined",
        "subscription.cancel_scheduled", "cancel_flow.completed"]
    # The confirmation e-mail: the end date and the one-click link that keeps the subscription.
    run_jobs(now(), at_due_time=False)
    [mail] = _messages("cancellation", ana)
    assert "ends on February 1, 2027" in mail.subject
    link = urlsplit(re.search(r'href="([^"]*/c/reactivate/[^"]+)"', mail.html).group(1)).path
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(link)
    assert page.status_code == 200
    assert browser.post(link, {"csrfmiddlewaretoken": _token(page)}).status_code == 200
    assert not reload(asub).cancel_at_period_end


def test_the_reactivate_link_works_until_the_period_ends_and_the_subscription_then_ends(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    step = _start(client, asub, "switched_service")
    _post(client, step + "confirm")
    run_jobs(now(), at_due_time=False)
    link = urlsplit(re.search(r'href="([^"]*/c/reactivate/[^"]+)"', _messages("cancellation", ana)[0].html).group(1)).path
    advance(utc(2027, 1, 31, 23))
    assert "Keep my subscription" in _text(Client().get(link))  # the day before the end it still works
    advance(utc(2027, 2, 1, 10))
    assert reload(asub).status == "canceled"
    page = _text(Client().get(link))
    assert "ended on February 1, 2027" in page and "Keep my subscription" not in page


def test_the_portal_can_undo_a_cancellation_too(shop):
    _ana, _asub, bia, bsub = shop
    client = _signed_in(bia)
    step = _start(client, bsub, "switched_service")
    _post(client, step + "confirm")
    again = _text(client.get(f"/portal/cancel/{bsub.pk}/"))
    assert "Sua assinatura já está cancelada" in again and "termina em 1 de fevereiro de 2027" in again
    page = _text(_post(client, f"/portal/cancel/{bsub.pk}/reactivate"))
    assert "Sua assinatura Pro continua" in page and "1 de fevereiro de 2027; nada muda na sua cobrança." in page
    assert not reload(bsub).cancel_at_period_end


def test_a_paused_subscription_ends_at_once(shop):
    ana, asub, _bia, _bsub = shop
    from assina.subscriptions.services import pause

    pause(asub.pk)
    client = _signed_in(ana)
    step = _start(client, asub, "unused")
    session = _session(asub)
    assert session.offer_kind == "none"  # it is paused already: no pause to offer
    assert "it ends as soon as you confirm" in _text(client.get(step))
    _post(client, step + "confirm")
    assert reload(asub).status == "canceled" and "Your subscription has ended" in _text(client.get(step))


def test_keeping_the_subscription_abandons_the_session(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    step = _start(client, asub, "too_expensive")
    response = _post(client, step + "keep")
    assert response.status_code == 302 and response["Location"] == "/portal/#subscription"
    assert _session(asub).outcome == "abandoned" and reload(asub).coupon_id is None and not reload(asub).cancel_at_period_end
    event = Event.objects.filter(type="cancel_flow.abandoned").get()
    assert event.data["by"] == "customer"


def test_variants_are_random_across_customers_stable_for_one_and_recorded(shop):
    rules.settings_row()
    CancelOffer.objects.create(reason="unused", variant="b", kind="discount", percent_off=Decimal("50"), discount_periods=1)
    variants = {rules.variant_for(customer_id, "unused") for customer_id in range(1, 41)}
    assert variants == {"a", "b"}
    assert all(rules.variant_for(7, "unused") == rules.variant_for(7, "unused") for _ in range(3))
    ana, asub, _bia, _bsub = shop
    expected = rules.variant_for(ana.pk, "unused")
    client = _signed_in(ana)
    for _ in range(2):
        page = _text(client.get(_start(client, asub, "unused")))
        session = _session(asub)
        assert session.variant == expected and session.offer.variant == expected
        assert session.offer_kind == {"a": "pause", "b": "discount"}[expected]
        assert ("Would a break help?" if expected == "a" else "50% off your next payment") in page
    shown = Event.objects.filter(type="cancel_flow.offer_shown").values_list("data", flat=True)
    assert {d["variant"] for d in shown} == {expected}


def test_one_offer_per_customer_per_window(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    step = _start(client, asub, "too_expensive")
    _post(client, step + "accept")
    # Back a month later, for another reason: no offer this time, straight to the confirmation.
    advance(utc(2027, 2, 16, 9))
    page = _text(client.get(_start(client, asub, "missing_features")))
    assert "Cancel your Pro subscription?" in page and "Tell us more" not in page
    assert _session(asub).offer_terms == {"withheld": "offer_limit"} and _session(asub).offer_shown_at is None
    # A window of 30 days has passed: the offer is back.
    settings = rules.settings_row()
    settings.offer_window_days = 30
    settings.save()
    assert "Tell us more" in _text(client.get(_start(client, asub, "missing_features")))
    # 0: never an offer.
    RetentionSettings.objects.filter(pk=1).update(offer_limit=0)
    assert "Would a break help?" not in _text(client.get(_start(client, asub, "unused")))


def test_the_owner_relabels_hides_reorders_and_shuffles_reasons(shop):
    _ana, _asub, bia, bsub = shop
    rules.settings_row()
    CancelReason.objects.filter(code="too_expensive").update(label_pt_br="Está caro para mim", position=99)
    CancelReason.objects.filter(code="low_quality").update(hidden=True)
    client = _signed_in(bia)
    page = _text(client.get(f"/portal/cancel/{bsub.pk}/"))
    shown = re.findall(r'name="reason" value="([a-z_]+)"', page)
    assert shown == ["missing_features", "switched_service", "unused", "customer_service", "too_complex", "other",
                     "too_expensive"]
    assert "Está caro para mim" in page and "Não uso o suficiente" in page
    refused = client.post(f"/portal/cancel/{bsub.pk}/", {"csrfmiddlewaretoken": _token(client.get("/portal/")),
                                                         "reason": "low_quality"})
    assert refused.status_code == 400 and "Escolha um motivo." in _text(refused) and _session(bsub) is None
    RetentionSettings.objects.filter(pk=1).update(shuffle_reasons=True)
    orders = set()
    for _ in range(6):  # each portal session has its own order, the same on every page of it
        client = _signed_in(bia)
        first = re.findall(r'name="reason" value="([a-z_]+)"', _text(client.get(f"/portal/cancel/{bsub.pk}/")))
        again = re.findall(r'name="reason" value="([a-z_]+)"', _text(client.get(f"/portal/cancel/{bsub.pk}/")))
        assert first == again and first[-1] == "other" and sorted(first) == sorted(shown)
        orders.add(tuple(first))
    assert len(orders) > 1
    _start(client, bsub, "unused")
    assert _session(bsub).reason_order == list(first)


def test_another_customers_subscription_and_session_are_404(shop):
    ana, asub, bia, bsub = shop
    bia_client = _signed_in(bia)
    step = _start(bia_client, bsub, "too_expensive")
    session = _session(bsub)
    client = _signed_in(ana)
    since = last_event_id()
    assert client.get(f"/portal/cancel/{bsub.pk}/").status_code == 404
    assert client.get(step).status_code == 404
    assert client.get(f"/portal/cancel/{asub.pk}/{session.pk}/").status_code == 404  # her session under my subscription
    assert _post(client, f"/portal/cancel/{bsub.pk}/", {"reason": "unused"}).status_code == 404
    for action in ("accept", "decline", "confirm", "keep"):
        assert _post(client, step + action).status_code == 404, action
        assert _post(client, f"/portal/cancel/{asub.pk}/{session.pk}/{action}").status_code == 404, action
    assert _post(client, f"/portal/cancel/{bsub.pk}/reactivate").status_code == 404
    assert event_types(since_id=since) == [] and reload(session).outcome == "open" and reload(bsub).coupon_id is None
    assert Client().get(f"/portal/cancel/{asub.pk}/").status_code == 302  # no portal session: the sign-in page


def test_every_post_needs_the_csrf_token_and_a_get_changes_nothing(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    step = _start(client, asub, "too_expensive")
    since = last_event_id()
    sessions = CancelSession.objects.count()
    for path in (f"/portal/cancel/{asub.pk}/", step + "accept", step + "decline", step + "confirm", step + "keep",
                 f"/portal/cancel/{asub.pk}/reactivate"):
        assert client.post(path, {"reason": "unused"}).status_code == 403, path
        assert client.get(path).status_code in (200, 302, 405), path
    assert client.get(step).status_code == 200
    assert event_types(since_id=since) == [] and CancelSession.objects.count() == sessions
    assert _session(asub).outcome == "open" and reload(asub).coupon_id is None


def test_a_session_idle_for_an_hour_is_abandoned_by_the_job(shop):
    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    _start(client, asub, "unused")
    started = _session(asub).updated_at
    advance(started + timedelta(minutes=59))
    assert _session(asub).outcome == "open"
    advance(started + timedelta(hours=3))
    session = _session(asub)
    assert session.outcome == "abandoned" and session.completed_at == started + timedelta(hours=1)
    event = Event.objects.get(type="cancel_flow.abandoned")
    assert event.occurred_at == started + timedelta(hours=1) and event.data["by"] == "idle"
    assert not reload(asub).cancel_at_period_end and reload(asub).status == "active"


def test_the_owner_sets_reasons_offers_and_limits_in_the_admin_and_sees_each_customers_sessions(shop, admin_client):
    ana, asub, _bia, _bsub = shop
    assert "Reasons are listed by position" not in _text(admin_client.get("/admin/retention/cancelreason/"))
    assert CancelReason.objects.count() == 8 and CancelOffer.objects.count() == 8  # the defaults, on first look
    settings = admin_client.get("/admin/retention/retentionsettings/")
    assert settings.status_code == 302 and settings["Location"].endswith("/admin/retention/retentionsettings/1/change/")
    offer = CancelOffer.objects.get(reason="unused")
    form = {"reason": "unused", "variant": "a", "active": "on", "kind": "pause", "pause_periods": "4", "plan_code": "",
            "percent_off": "", "discount_periods": ""}
    refused = admin_client.post(f"/admin/retention/canceloffer/{offer.pk}/change/", form)
    assert refused.status_code == 200 and "A pause lasts 1, 2 or 3 periods." in _text(refused)
    assert admin_client.post(f"/admin/retention/canceloffer/{offer.pk}/change/", {**form, "pause_periods": "2"}).status_code == 302
    assert reload(offer).pause_periods == 2
    client = _signed_in(ana)
    step = _start(client, asub, "missing_features", "Too few reports")
    _post(client, step + "decline", {"feedback_text": "An export to spreadsheets, please."})
    page = _text(admin_client.get(f"/admin/customers/customer/{ana.pk}/change/"))
    assert "Cancel flow: sessions, reasons and offers" in page
    assert "Too few reports" in page and "An export to spreadsheets, please." in page
    listing = _text(admin_client.get("/admin/retention/cancelsession/?outcome__exact=open"))
    assert "ana@example.com" in listing or "Ana Souza" in listing


def test_no_second_discount_while_one_is_on_the_subscription(shop):
    ana, asub, _bia, _bsub = shop
    rules.settings_row()
    RetentionSettings.objects.filter(pk=1).update(offer_limit=5)
    client = _signed_in(ana)
    _post(client, _start(client, asub, "too_expensive") + "accept")
    page = _text(client.get(_start(client, asub, "too_expensive")))
    assert "Stay with a discount?" not in page and "Cancel your Pro subscription?" in page
    assert _session(asub).offer_terms == {"withheld": "not_applicable", "rule": "discount"}


def test_what_a_customer_wrote_in_the_flow_is_exported_and_erased_with_them(shop):
    from assina.privacy.erase import erase_customer
    from assina.privacy.export import export_customer
    from assina.subscriptions.services import cancel_now

    ana, asub, _bia, _bsub = shop
    client = _signed_in(ana)
    step = _start(client, asub, "missing_features", "Too few reports")
    _post(client, step + "decline", {"feedback_text": "An export, please."})
    [exported] = export_customer(reload(ana))["cancel_sessions"]
    assert (exported["reason"], exported["reason_text"], exported["feedback"]) == ("missing_features", "Too few reports",
                                                                                     "An export, please.")
    cancel_now(asub.pk)
    erase_customer(ana.pk, now())
    session = _session(asub)
    assert (session.reason, session.reason_text, session.feedback_text) == ("missing_features", "", "")
