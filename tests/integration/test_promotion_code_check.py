"""Checkout's read-only check of a promotion code (``catalog.services.check_promotion_code``)
answers as the catalog's redemption would, reason for reason, and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from factories import make_addon, make_plan, start_clock, utc

from assina.catalog.models import Coupon, PromotionCode
from assina.catalog.services import check_promotion_code, create_coupon, create_promotion_code, redeem
from assina.core.errors import DomainError
from assina.time import now

pytestmark = pytest.mark.django_db


class _Undo(Exception):
    pass


def _redeemed(code: str, plan: str):
    """What redeem says, rolled back."""
    try:
        with transaction.atomic():
            coupon = redeem(code, plan, now())
            raise _Undo(coupon.pk)
    except _Undo as done:
        return "ok", done.args[0]
    except DomainError as refused:
        return type(refused).__name__, str(refused)


def _checked(code: str, plan: str):
    try:
        coupon = check_promotion_code(code, plan, now())
    except DomainError as refused:
        return type(refused).__name__, str(refused)
    return ("ok", coupon.pk) if coupon else None


def test_the_check_gives_the_redemptions_answer_for_every_reason_and_writes_nothing():
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 4990)
    make_plan("basic", 1990)
    make_addon("seats", 1000)
    at = now()
    cases = {
        "WELCOME": {}, "GONE": {"active": False}, "OLD": {"expires_at": at - timedelta(days=1)},
        "USED": {"max_redemptions": 1, "times_redeemed": 1}, "LAST": {"max_redemptions": 1},
        "OFF": {"coupon": {"active": False}}, "LATE": {"coupon": {"redeem_by": at - timedelta(days=1)}},
        "FULL": {"coupon": {"max_redemptions": 2, "times_redeemed": 2}}, "BASIC": {"plans": ["basic"]},
    }
    for n, (code, change) in enumerate(cases.items()):
        coupon = create_coupon(code=f"c{n}", duration="once", percent_off="20", at=at, plans=change.get("plans"))
        promo = create_promotion_code(code=code, coupon_code=coupon.code, at=at)
        Coupon.objects.filter(pk=coupon.pk).update(**change.get("coupon", {}))
        PromotionCode.objects.filter(pk=promo.pk).update(**{k: v for k, v in change.items() if k not in ("coupon", "plans")})
    before = list(PromotionCode.objects.values_list("times_redeemed", flat=True)), list(Coupon.objects.values_list("times_redeemed", flat=True))
    answers = {}
    for code in [*cases, "welcome", "NOPE"]:
        answers[code] = _checked(code, "pro")
        if answers[code] is not None:
            assert answers[code] == _redeemed(code, "pro"), code
    assert answers["NOPE"] is None and _redeemed("NOPE", "pro")[0] == "CatalogError"  # no such code: checkout says so
    assert answers["WELCOME"][0] == answers["welcome"][0] == answers["LAST"][0] == "ok"
    assert all(answers[code][0] != "ok" for code in ("GONE", "OLD", "USED", "OFF", "LATE", "FULL", "BASIC"))
    assert _checked("BASIC", "basic")[0] == "ok"
    after = list(PromotionCode.objects.values_list("times_redeemed", flat=True)), list(Coupon.objects.values_list("times_redeemed", flat=True))
    assert before == after
