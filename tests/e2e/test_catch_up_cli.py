"""The CLI applies the bounded catch-up rules (issue 14): a start further back than one billing
period is refused (exit 2, a clear message, nothing changed); releasing a subscription that is not
held is refused; ``subscription held`` lists the held ones."""

from __future__ import annotations


def test_a_start_in_1970_is_refused_and_release_needs_a_held_subscription(assina):
    assina.ok("plan", "create", "--code", "pro", "--name", "Pro", "--amount", "49.90", "--currency", "BRL",
              "--interval", "month")
    assina.ok("customer", "create", "--email", "ana@example.com", "--name", "Ana", "--card", "4242424242424242")
    before = assina.db.snapshot()
    assina.refused("subscription", "create", "--customer", "ana@example.com", "--plan", "pro",
                   "--start", "1970-01-01T00:00:00Z", words=("too far in the past", "one billing period"))
    assert assina.db.snapshot() == before
    sub = assina.ok("subscription", "create", "--customer", "ana@example.com", "--plan", "pro")
    assert sub["catch_up_held_at"] is None
    assert assina.ok("subscription", "held") == {"subscriptions": []}
    before = assina.db.snapshot()
    assina.refused("subscription", "release", sub["id"], "--bill", words=("not held for catch-up",))
    assert assina.db.snapshot() == before
    result = assina.run("subscription", "release", sub["id"])  # --bill or --skip is required
    assert result.returncode == 2 and "--bill" in result.stderr
