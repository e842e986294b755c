"""Saves validated against billing 30 days after the cancel flow (issue 16), under the test clock:
an accepted offer counts as a save only if the subscription is still active and paid 30 days
after the session started; the check runs at that moment and records ``cancel_flow.save_validated``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import FAILING_CARD, advance, make_customer, make_plan, real_transactions, start_clock, subscribe, utc

from assina.events.models import Event
from assina.payments.methods import add_card
from assina.retention.models import CancelSession
from assina.retention.report import retention_report
from assina.retention.validation import has_work, next_due
from assina.subscriptions import services
from assina.subscriptions.discounts import apply_discount
from assina.time import now

pytestmark = real_transactions

START = utc(2027, 1, 15, 12)
SESSION = utc(2027, 1, 20, 9)
CHECK = SESSION + timedelta(days=30)  # Feb 19, 09:00


def _session(sub, *, outcome: str, kind: str = "discount") -> CancelSession:
    """A session as the cancel flow leaves it (the offer itself is applied by the test through the
    subscriptions app, as the flow does)."""
    accepted = outcome == "saved"
    return CancelSession.objects.create(
        customer_id=sub.customer_id, subscription=sub, started_at=now(), updated_at=now(), reason="too_expensive",
        variant="a", offer_kind=kind, offer_shown_at=now(), offer_accepted_at=now() if accepted else None,
        outcome=outcome, completed_at=now(), mrr=4990, currency=sub.currency)


@pytest.fixture
def subs():
    start_clock(START)
    make_plan("basic", 4990)
    return {name: subscribe(make_customer(email=f"{name}@example.com"), "basic")
            for name in ("stays", "cancels_later", "pauses", "stops_paying", "keeps_without_offer", "cancels")}


def test_a_save_counts_only_if_the_subscription_is_still_active_and_paid_30_days_later(subs):
    advance(SESSION)
    sessions = {}
    for name in ("stays", "cancels_later", "stops_paying"):
        apply_discount(subs[name].pk, percent_off="20", periods=3, source="cancel_flow")
        sessions[name] = _session(subs[name], outcome="saved")
    services.pause(subs["pauses"].pk, resumes_at=utc(2027, 3, 15, 12))
    sessions["pauses"] = _session(subs["pauses"], outcome="saved", kind="pause")
    sessions["keeps_without_offer"] = _session(subs["keeps_without_offer"], outcome="abandoned")
    services.cancel_at_period_end(subs["cancels"].pk, reason="too_expensive")
    sessions["cancels"] = _session(subs["cancels"], outcome="canceled")
    assert next_due().at == CHECK and not has_work(CHECK - timedelta(seconds=1)) and has_work(CHECK)

    # Within the 30 days: one customer cancels after all; another's card starts failing, so the
    # February renewal is not paid.
    advance(utc(2027, 2, 1))
    services.cancel_at_period_end(subs["cancels_later"].pk)
    stops = subs["stops_paying"]
    add_card(stops.customer, FAILING_CARD, now())
    advance(CHECK - timedelta(seconds=1))
    assert not CancelSession.objects.filter(save_checked_at__isnull=False).exists()  # not before the 30 days

    advance(CHECK + timedelta(hours=1))
    checked = {name: CancelSession.objects.get(pk=s.pk) for name, s in sessions.items()}
    assert {name: s.still_paying_at_30_days for name, s in checked.items()} == {
        "stays": True, "cancels_later": False, "stops_paying": False, "pauses": False, "keeps_without_offer": True,
        "cancels": None}  # a cancelled session needs no check
    assert all(s.save_checked_at == CHECK for name, s in checked.items() if name != "cancels")

    validated = {e.subject_id: e for e in Event.objects.filter(type="cancel_flow.save_validated")}
    assert len(validated) == 5 and {e.occurred_at for e in validated.values()} == {CHECK}
    stays = validated[sessions["stays"].pk]
    assert stays.data == {"subscription": subs["stays"].pk, "outcome": "saved", "status": "active",
                          "still_paying": True, "saved": True}
    assert validated[sessions["stops_paying"].pk].data["status"] == "past_due"
    assert validated[sessions["keeps_without_offer"].pk].data["saved"] is False  # still paying, but no offer taken

    report = retention_report("2027-01-01", "2027-01-31")
    assert (report["sessions"], report["evaluated"], report["saves"]) == (6, 6, 1)
    assert report["save_rate"] == pytest.approx(1 / 6) and report["saved_mrr"] == {"BRL": 4990}
    assert (report["accepted_not_paying"], report["stayed_without_offer"]) == (3, 1)

    # Checked once: nothing more to do, and a later pass changes nothing.
    assert next_due() is None and not has_work(utc(2027, 6, 1))
    advance(utc(2027, 3, 1))
    assert Event.objects.filter(type="cancel_flow.save_validated").count() == 5


def test_a_session_not_yet_30_days_old_is_pending_in_the_report(subs):
    advance(SESSION)
    _session(subs["stays"], outcome="saved")
    advance(utc(2027, 2, 10))
    report = retention_report("2027-01-01", "2027-01-31")
    assert (report["sessions"], report["evaluated"], report["pending"], report["save_rate"]) == (1, 0, 1, None)
