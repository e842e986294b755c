"""Playbooks (issue 20): each trigger finds the customers it should (and not the others), a run's
actions happen once per customer per period and are logged on the timeline, and the report
compares who is still subscribed 30 and 90 days later with customers who met the trigger before
the playbook existed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from factories import FAILING_CARD, advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.services import create_coupon
from assina.core.errors import DomainError
from assina.engagement.models import OnboardingMilestone, Task
from assina.engagement.services import record_events
from assina.events.models import Event
from assina.feedback.models import SurveyResponse
from assina.feedback.services import record_response
from assina.notifications.models import Campaign, Message, Segment
from assina.payments.services import attach_card
from assina.playbooks import services
from assina.playbooks.models import Playbook, PlaybookOffer, PlaybookRun
from assina.subscriptions.models import Subscription
from assina.subscriptions.services import cancel_now
from assina.success.models import HealthScore
from assina.time import now

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    start_clock(utc(2027, 1, 4, 9))
    make_plan("pro", 5000)
    people = {name: make_customer(email=f"{name}@example.com", name=name.title(), locale=locale)
              for name, locale in (("ana", "pt-BR"), ("bob", "en"), ("cid", "en"))}
    for customer in people.values():
        subscribe(customer, "pro")
    return people


def _playbook(trigger: str, **fields):
    return services.create_playbook(name=f"{trigger} playbook", trigger=trigger, at=now(), **fields)


def _login(customer, at):
    record_events([(f"login-{customer.pk}-{at.isoformat()}", customer.pk, "login", at, None, {})], at=at)


def _detractor(customer, at, score=3):
    record_response(customer=customer, survey="nps", score=score, comment="", submitted_at=at, source="api", at=at)


def test_an_inactive_customer_gets_every_action_once_per_period_on_their_timeline(shop):
    advance(utc(2027, 2, 10, 9))
    _login(shop["ana"], now() - timedelta(days=2))  # active lately: not inactive
    coupon = create_coupon(code="stay20", duration="once", percent_off="20", at=now())
    campaign = Campaign.objects.create(name="We miss you", segment=Segment.objects.create(name="everyone", created_at=now()),
                                       subject_en="We miss you, {{ customer.name }}",
                                       html_en='<p>Come back: <a href="{{ account_url }}">your offer</a></p>',
                                       subject_pt_br="Sentimos sua falta, {{ customer.name }}", html_pt_br="<p>Volte</p>",
                                       created_at=now())
    playbook = _playbook("inactive", threshold=30, email_campaign=campaign, coupon=coupon, task_title="Call them",
                         call_webhook=True, period_days=30)
    fired_at = now()
    advance(now() + timedelta(hours=2))  # the worker's job checks it
    assert PlaybookRun.objects.count() == 2
    runs = {run.customer_id: run for run in PlaybookRun.objects.all()}
    assert set(runs) == {shop["bob"].pk, shop["cid"].pk}
    bob_run = runs[shop["bob"].pk]
    assert bob_run.reason == {"trigger": "inactive", "last_activity": None}
    assert [(a["action"], a["outcome"]) for a in bob_run.actions] == [("email", "done"), ("coupon", "done"), ("task", "done"),
                                                                     ("webhook", "done")]
    task = Task.objects.get(customer=shop["bob"])
    assert (task.title, task.source, task.due_at) == ("Call them", f"playbook:{playbook.pk}", bob_run.fired_at + timedelta(days=3))
    assert bob_run.fired_at >= fired_at
    message = Message.objects.get(key=f"playbook:{bob_run.pk}:customer:{shop['bob'].pk}")
    assert message.subject == "We miss you, Bob"
    assert f"{settings.ASSINA_BASE_URL}/portal/enter/" in message.html  # the signed button to the portal's offer card
    # The coupon is offered in the portal (playbooks.services.make_offer), not applied.
    assert Subscription.objects.get(customer=shop["bob"]).coupon_id is None
    assert PlaybookOffer.objects.get(run=bob_run).coupon == coupon
    timeline = Event.objects.filter(customer_id=shop["bob"].pk, type__startswith="playbook.").values_list("type", flat=True)
    assert sorted(timeline) == ["playbook.offer_made", "playbook.run", "playbook.webhook"]
    # Once per customer per period: the next check, and one a week later, run nothing new.
    assert services.run_playbooks(now())["fired"] == 0
    assert services.run_playbooks(now() + timedelta(days=7))["fired"] == 0
    # A period later Bob is still inactive: it runs again.
    again = services.run_playbook(playbook.pk, now() + timedelta(days=31))
    assert again["fired"] == 3  # Ana too: her last login is now 33 days old
    latest = PlaybookRun.objects.filter(customer=shop["bob"]).order_by("-fired_at").first()
    assert {a["action"]: a["outcome"] for a in latest.actions}["task"] == "done"


def test_each_trigger_finds_its_customers(shop):
    ana, bob, cid = shop["ana"], shop["bob"], shop["cid"]
    _detractor(bob, now() - timedelta(days=1))  # before the playbook existed: not acted on
    detractors = _playbook("detractor", task_title="Follow up")
    _detractor(ana, now())
    record_response(customer=cid, survey="nps", score=9, comment="", submitted_at=now(), source="api", at=now())
    assert set(services.candidates(detractors, now())) == {ana.pk}

    failed = _playbook("payment_failed", task_title="Check the card")
    attach_card(cid, FAILING_CARD, now(), make_default=True)
    advance(utc(2027, 2, 5, 9))  # cid's renewal on Feb 4 is declined
    assert set(services.candidates(failed, now())) == {cid.pk}

    for customer, score, probability in ((ana, 35, 0.05), (bob, 80, 0.6), (cid, 55, 0.2)):
        HealthScore.objects.update_or_create(customer=customer, defaults={
            "score": score, "band": "healthy", "churn_probability": probability, "computed_at": now()})
    assert set(services.candidates(_playbook("health_below", threshold=40, task_title="x"), now())) == {ana.pk}
    assert set(services.candidates(_playbook("risk_above", threshold=50, task_title="x"), now())) == {bob.pk}

    milestone = OnboardingMilestone.objects.create(name="First report", event_name="report_exported", due_days=14,
                                                   created_at=now())
    missed = _playbook("milestone_missed", milestone=milestone, task_title="Help them start")
    record_events([("r1", ana.pk, "report_exported", utc(2027, 1, 10), None, {})], at=now())
    late = make_customer(email="dan@example.com")  # signed up today: not due yet
    subscribe(late, "pro")
    assert set(services.candidates(missed, now() + timedelta(days=1))) == {bob.pk, cid.pk}
    cancel_now(Subscription.objects.get(customer=bob).pk)  # no longer a customer: nothing to act on
    assert set(services.candidates(missed, now() + timedelta(days=1))) == {cid.pk}

    with pytest.raises(DomainError):
        _playbook("health_below", threshold=140, task_title="x")
    with pytest.raises(DomainError):
        _playbook("detractor")  # no action


def test_the_report_compares_runs_with_customers_before_the_playbook(shop, capsys):
    ana, bob, cid = shop["ana"], shop["bob"], shop["cid"]
    # Before the playbook: Bob and Cid were detractors; Bob left 10 days later, Cid stayed.
    _detractor(bob, utc(2027, 1, 1))
    _detractor(cid, utc(2027, 1, 2))
    advance(utc(2027, 1, 11, 9))
    cancel_now(Subscription.objects.get(customer=bob).pk)
    playbook = _playbook("detractor", task_title="Call them")
    _detractor(ana, now())
    assert services.run_playbooks(now())["fired"] == 1
    advance(utc(2027, 2, 20, 9))
    from assina.cli import main

    assert main(["playbooks", "report", "--json"]) in (0, None)
    report = json.loads(capsys.readouterr().out)["playbooks"][0]
    assert report["playbook"] == playbook.pk and report["runs"] == 1
    assert report["after_30_days"] == {"measured": 1, "still_subscribed": 1, "rate": 1.0}
    assert report["after_90_days"] == {"measured": 0, "still_subscribed": 0, "rate": None}
    assert report["comparison"]["customers"] == 2
    assert report["comparison"]["after_30_days"] == {"measured": 2, "still_subscribed": 1, "rate": 0.5}
    assert report["difference_30_days"] == 0.5
    assert SurveyResponse.objects.count() == 3


def test_the_owner_makes_a_playbook_in_the_admin_and_reads_its_outcome_in_portuguese(admin_client, shop, settings):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt-br"
    form = {"name": "Detratores", "trigger": "detractor", "threshold": "", "period_days": "30", "task_title": "Ligar",
            "task_due_days": "2", "offer_days": "14", "active": "on"}
    refused = admin_client.post("/admin/playbooks/playbook/add/", {**form, "task_title": ""})
    assert "escolha ao menos uma ação" in refused.content.decode()
    assert "Cupom a oferecer no portal:" in refused.content.decode() and "A oferta vale por (dias):" in refused.content.decode()
    assert admin_client.post("/admin/playbooks/playbook/add/", form).status_code == 302
    playbook = Playbook.objects.get()
    assert playbook.created_at == now()
    _detractor(shop["ana"], now())
    response = admin_client.post("/admin/playbooks/playbook/", {"action": "run_now", "_selected_action": [playbook.pk]})
    assert response.status_code == 302 and Task.objects.get().title == "Ligar"
    page = admin_client.get(f"/admin/playbooks/playbook/{playbook.pk}/change/").content.decode()
    assert "ainda assinantes após 30 dias" in page and "ainda não mensurável" in page
