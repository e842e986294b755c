"""The CLI refuses out-of-bounds dates like the API (issue 14): exit 2, a clear message, nothing changed."""

from __future__ import annotations


def test_a_coupon_dated_year_1_and_a_pause_until_9999_are_refused(assina):
    assina.ok("plan", "create", "--code", "pro", "--name", "Pro", "--amount", "49.90", "--currency", "BRL",
              "--interval", "month")
    assina.ok("customer", "create", "--email", "ana@example.com", "--name", "Ana", "--card", "4242424242424242")
    sub = assina.ok("subscription", "create", "--customer", "ana@example.com", "--plan", "pro",
                    "--start", "2027-01-31T10:00:00Z")
    before = assina.db.snapshot()
    assina.refused("coupon", "create", "--code", "OLD", "--duration", "once", "--percent-off", "10",
                   "--redeem-by", "0001-01-01T00:00:00Z", words=("redeem-by", "between the years 1970 and 2099"))
    assina.refused("subscription", "pause", sub["id"], "--resume-at", "9999-12-31T00:00:00Z",
                   words=("resume date", "between the years 1970 and 2099"))
    assert assina.db.snapshot() == before
