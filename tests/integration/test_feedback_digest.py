"""The owner's weekly digest of rising themes under the test clock: Monday 08:00 UTC, once a
week, only the themes more customers raised in the last 7 days than in an average week of the
28 before, in the owner's language; nothing without ASSINA_OWNER_EMAIL."""

from __future__ import annotations

import pytest
from django.test import override_settings
from factories import advance, make_customer, start_clock, utc

from assina.feedback.models import Digest
from assina.feedback.services import record_response
from assina.notifications.models import Message
from assina.time import now

pytestmark = pytest.mark.django_db


def _said(i: int, text: str, at, score: int = 5):
    customer = make_customer(email=f"d{i}@example.com", name=f"D {i}", card=None)
    record_response(customer=customer, survey="nps", score=score, comment=text, submitted_at=at, source="api", at=now())


def _comments():
    start_clock(utc(2027, 3, 7, 12))  # a Sunday
    for i in range(3):  # support: three customers this week, one in the four weeks before
        _said(i, "Support takes days to reply", utc(2027, 3, 2 + i, 10), score=3 if i < 2 else 8)
    _said(3, "I waited a week for an answer from support", utc(2027, 2, 15, 10))
    for i in range(4, 12):  # price: eight customers in the four weeks before, two this week: not rising
        _said(i, "It is too expensive for a small shop", utc(2027, 2, 5 + i, 10))
    for i in range(12, 14):
        _said(i, "Too expensive compared to others", utc(2027, 3, 3, 10))


@override_settings(ASSINA_OWNER_EMAIL="owner@example.com", ASSINA_OWNER_LOCALE="en")
def test_the_owner_gets_the_rising_themes_once_a_week():
    _comments()
    advance(utc(2027, 3, 8, 7, 59))
    assert not Message.objects.filter(template="feedback_digest").exists()  # not before Monday 08:00
    advance(utc(2027, 3, 8, 9))
    digests = Message.objects.filter(template="feedback_digest")
    assert digests.count() == 1
    mail = digests.get()
    assert mail.to_email == "owner@example.com" and mail.customer_id is None
    assert "Support speed" in mail.html and "3 customers this week" in mail.html and "2 of them detractors" in mail.html
    assert "Pricing" not in mail.html and "Price" not in mail.html
    assert "March 1, 2027" in mail.subject and "March 7, 2027" in mail.subject
    advance(utc(2027, 3, 12))
    assert digests.count() == 1  # once a week
    advance(utc(2027, 3, 16))  # the next week: nothing rose, nothing sent, the week is recorded
    assert digests.count() == 1
    # Each week considered once (the first pass makes the latest week's before the clock moved on).
    assert [str(d) for d in Digest.objects.order_by("week_start").values_list("week_start", flat=True)] == [
        "2027-03-01", "2027-03-08", "2027-03-15"]


@override_settings(ASSINA_OWNER_EMAIL="dono@example.com", ASSINA_OWNER_LOCALE="pt-BR")
def test_the_digest_in_portuguese():
    _comments()
    advance(utc(2027, 3, 8, 9))
    mail = Message.objects.get(template="feedback_digest")
    assert "Rapidez do suporte" in mail.html and "3 clientes nesta semana" in mail.html
    assert mail.subject.startswith("Temas em alta") and "1 de março de 2027" in mail.subject


def test_no_owner_address_no_digest():
    _comments()
    advance(utc(2027, 3, 15, 9))
    assert not Message.objects.filter(template="feedback_digest").exists() and not Digest.objects.exists()
