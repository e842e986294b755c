"""Temporary upgrades and the annual switch under the test clock (issue 16), on both engines.

- A free trial of a higher plan reverts by itself when its days are over, the reminder going out
  two days before in the customer's language; a renewal inside the trial bills the plan the
  customer pays for, never the trial's.
- Kept before the end, it bills as a plan change and stays past the end.
- One trial per customer per plan.
- Switching to annual bills the amounts the page shows, computed by hand.
"""

from __future__ import annotations

import pytest
from factories import advance, event_types, invoices_of, lines_of, make_customer, make_plan, real_transactions, reload, \
    start_clock, subscribe, utc

from assina.events.models import Event
from assina.notifications.models import Message
from assina.time import now
from assina.upgrades import services
from assina.upgrades.models import AnnualOffer, TemporaryUpgrade, TrialPlan

pytestmark = real_transactions


@pytest.fixture
def shop():
    start_clock(utc(2027, 5, 1, 12))
    make_plan("basic", 3000, name="Basic")
    TrialPlan.objects.create(plan=make_plan("premium", 6000, name="Premium"), days=14, created_at=now())
    TrialPlan.objects.create(plan=make_plan("max", 9000, name="Max"), days=7, created_at=now())
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="pt-BR")
    return ana, subscribe(ana, "basic")


def test_a_trial_reverts_by_itself_after_a_reminder_two_days_before_and_never_bills(shop):
    ana, sub = shop
    advance(utc(2027, 5, 25, 12))
    trial = services.start_trial(sub, "premium")  # 14 days: ends June 8, 12:00, across the June 1 renewal
    assert trial.ends_at == utc(2027, 6, 8, 12)

    advance(utc(2027, 6, 6, 11, 59))
    assert reload(trial).reminded_at is None and not Message.objects.filter(template="upgrade_trial_ending").exists()
    # The renewal inside the trial bills the paid plan.
    assert lines_of(invoices_of(sub)[-1]) == [("subscription", 3000)] and len(invoices_of(sub)) == 2
    assert services.access_plan(reload(sub)).code == "premium"

    advance(utc(2027, 6, 6, 12, 1))
    trial = reload(trial)
    assert trial.reminded_at == utc(2027, 6, 6, 12) and trial.next_action_at == utc(2027, 6, 8, 12)
    mail = Message.objects.get(template="upgrade_trial_ending")
    assert mail.subject == "Seu teste grátis do plano Premium termina em 8 de junho de 2027"
    assert "R$ 60,00" in mail.html.replace("\xa0", " ") and "/portal/enter/" in mail.html

    advance(utc(2027, 6, 9))
    trial = reload(trial)
    assert trial.reverted_at == utc(2027, 6, 8, 12) and trial.next_action_at is None and trial.confirmed_at is None
    sub = reload(sub)
    assert sub.plan.code == "basic" and services.access_plan(sub).code == "basic"
    assert [lines_of(i) for i in invoices_of(sub)] == [[("subscription", 3000)]] * 2  # the trial was never billed
    reverted = Event.objects.get(type="upgrade.trial_reverted")
    assert reverted.occurred_at == utc(2027, 6, 8, 12) and reverted.data["access_plan"] == "basic"
    assert reverted.data["reason"] == "ended"
    assert [t for t in event_types(sub) if t.startswith("upgrade.")] == [
        "upgrade.trial_started", "upgrade.trial_reminded", "upgrade.trial_reverted"]
    # Running the clock again does nothing more.
    advance(utc(2027, 6, 20))
    assert Message.objects.filter(template="upgrade_trial_ending").count() == 1
    assert Event.objects.filter(type__startswith="upgrade.").count() == 3


def test_a_kept_trial_bills_as_a_plan_change_and_stays_past_its_end(shop):
    _ana, sub = shop
    advance(utc(2027, 5, 4, 12))
    trial = services.start_trial(sub, "max")  # 7 days: reminder May 9, end May 11
    advance(utc(2027, 5, 10, 12))
    assert reload(trial).reminded_at == utc(2027, 5, 9, 12)
    # May 10 12:00 in May 1 12:00 → June 1 12:00 (31 days): 22/31 = 0.709677419 unused.
    # By hand: credit −round(3000 × 0.709677419) = −2129; charge round(9000 × 0.709677419) = 6387.
    assert services.confirm_preview(reload(trial)) == 6387 - 2129
    services.confirm_trial(reload(sub))
    assert lines_of(invoices_of(sub)[-1]) == [("proration", -2129), ("proration", 6387)]
    advance(utc(2027, 6, 1, 13))
    sub = reload(sub)
    assert sub.plan.code == "max" and services.access_plan(sub).code == "max"
    assert lines_of(invoices_of(sub)[-1]) == [("subscription", 9000)]
    trial = reload(trial)
    assert trial.confirmed_at == utc(2027, 5, 10, 12) and trial.reverted_at is None
    assert not Event.objects.filter(type="upgrade.trial_reverted").exists()


def test_one_trial_per_customer_per_plan_and_one_at_a_time(shop):
    ana, sub = shop
    advance(utc(2027, 5, 2, 12))
    services.start_trial(sub, "premium")
    assert services.trial_options(reload(sub)) == []  # one at a time
    advance(utc(2027, 5, 17))
    assert [o.plan.code for o in services.trial_options(reload(sub))] == ["max"]
    with pytest.raises(services.UpgradeError):
        services.start_trial(reload(sub), "premium")
    services.start_trial(reload(sub), "max")
    assert TemporaryUpgrade.objects.filter(customer=ana).count() == 2


def test_a_cancelled_subscription_ends_its_trial_at_the_next_stop(shop):
    _ana, sub = shop
    advance(utc(2027, 5, 2, 12))
    trial = services.start_trial(sub, "premium")
    from assina.subscriptions.services import cancel_now

    cancel_now(sub.pk)
    advance(utc(2027, 5, 15))
    trial = reload(trial)
    assert trial.reverted_at == utc(2027, 5, 14, 12) and trial.reminded_at is None
    assert Event.objects.get(type="upgrade.trial_reverted").data["reason"] == "subscription_changed"


def test_switching_to_annual_bills_the_documented_amounts(shop):
    _ana, sub = shop
    annual = make_plan("basic-annual", 30000, name="Basic Annual", interval="year")
    AnnualOffer.objects.create(monthly_plan=sub.plan, annual_plan=annual, incentive="percent", percent_off="12.5",
                               created_at=now())
    advance(utc(2027, 5, 21, 12))  # 20 of May's 31 days used: 11/31 = 0.354838710 unused
    quote = services.annual_quote(reload(sub))
    # By hand: 12.5 % of 30000 = 3750; first year 26250; twelve months 36000; saving 9750;
    # credit −round(3000 × 0.354838710) = −1065; due now 25185.
    assert (quote.year_price, quote.incentive, quote.first_year, quote.twelve_months, quote.saving, quote.credit,
            quote.due_now) == (30000, 3750, 26250, 36000, 9750, -1065, 25185)
    invoice = services.switch_to_annual(reload(sub))
    assert lines_of(invoice) == [("subscription", 30000), ("discount", -3750), ("proration", -1065)]
    assert invoice.total == quote.due_now and invoice.amount_paid == quote.due_now
    assert reload(sub).current_period_end == utc(2028, 5, 21, 12)
    advance(utc(2028, 5, 21, 13))
    assert lines_of(invoices_of(sub)[-1]) == [("subscription", 30000)]
