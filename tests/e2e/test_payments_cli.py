"""The payments commands as an operator runs them (``--json``): a card, paying, refunding,
the dunning report and ``assina check``; bad input is refused with nothing changed. ``check``'s exit
status runs through the console script; the other cases run the CLI's ``main`` in this process
on the test database (the same commands and messages, without the process start-ups)."""

import json


def _business(cli):
    cli.ok("plan", "create", "--code", "pro", "--amount", "49.90", "--currency", "BRL", "--interval", "month")
    cli.ok("customer", "create", "--email", "ana@example.com", "--card", "4242424242424242")
    cli.ok("customer", "create", "--email", "bia@example.com", "--card", "4242424242424242")
    cli.ok("subscription", "create", "--customer", "ana@example.com", "--plan", "pro")
    cli.ok("subscription", "create", "--customer", "bia@example.com", "--plan", "pro")


def test_a_failed_renewal_recovered_by_a_new_card_then_refunded_and_reported(assina_in_process):
    assina = assina_in_process
    _business(assina)
    schedule = assina.ok("sandbox", "card-schedule", "--customer", "ana@example.com", "--at", "2027-02-01",
                         "--decline-code", "insufficient_funds")
    assert schedule["decline_code"] == "insufficient_funds"
    assina.ok("clock", "advance", "--to", "2027-03-01T12:00:00Z")
    [failed] = assina.ok("dunning", "list")["invoices"]
    assert (failed["customer"], failed["dunning"], failed["attempts"]) == ("ana@example.com", "retrying", 2)
    attempts = assina.ok("invoice", "attempts", failed["invoice"])["attempts"]
    assert [(a["status"], a["decline_code"]) for a in attempts] == [("failed", "insufficient_funds")] * 2
    # First failure at the renewal on Feb 28; retry day 1 (Mar 1) failed too; next is day 3.
    assert attempts[-1]["next_retry_at"] == "2027-03-03T10:00:00Z"

    card = assina.ok("customer", "card", "--customer", "ana@example.com", "--card", "5555555555554444")
    assert card["payment_method"]["last4"] == "4444" and card["open_invoices"] == []
    refund = assina.ok("invoice", "refund", failed["invoice"], "--amount", "10.00")
    assert (refund["amount"], refund["status"], refund["to"]) == (1000, "succeeded", "card")
    report = assina.ok("dunning", "report", "--from", "2027-02-01", "--to", "2027-03-01")
    assert report["months"][0]["recovered_amount"] == 4990 and report["months"][0]["recovery_rate"] == 1.0
    check = assina.run("check")
    assert check.returncode == 0 and json.loads(check.stdout)["violations"] == 0
    cards = assina.ok("customer", "cards", "--customer", "ana@example.com")["payment_methods"]
    assert [c["default"] for c in cards] == [False, True]


def test_bad_payment_input_is_refused_and_changes_nothing(assina_in_process):
    assina = assina_in_process
    _business(assina)
    invoices = assina.invoices("--customer", "ana@example.com")
    number = invoices[0]["number"]
    bia_card = assina.ok("customer", "cards", "--customer", "bia@example.com")["payment_methods"][0]["id"]
    before = assina.db.snapshot()
    assina.refused("invoice", "refund", number, "--amount", "60.00", words=("exceeds",))
    assina.refused("invoice", "refund", number, "--amount", "-5", words=())
    assina.refused("invoice", "pay", number, words=("paid",))
    assina.refused("invoice", "pay", "2099-000001", words=("unknown invoice",))
    assina.refused("customer", "card-default", "--customer", "ana@example.com", "--method", bia_card, words=("another customer",))
    assina.refused("customer", "card", "--customer", "ana@example.com", "--token", "pm_nope", words=("unknown card token",))
    assina.refused("customer", "card", "--customer", "ana@example.com", "--card", "4000000000009987", words=())
    assina.refused("dunning", "policy", "--retry-days", "5,3", words=("increasing",))
    assert assina.db.snapshot() == before


def test_check_exits_1_with_the_violations(assina):
    _business(assina)
    import sqlite3

    from conftest import ON_POSTGRES

    if ON_POSTGRES:
        import psycopg

        with psycopg.connect(assina.db.url) as conn:
            conn.execute("UPDATE invoices_invoice SET amount_paid = 0, status = 'open' WHERE id = 1")
    else:
        conn = sqlite3.connect(assina.db.path)
        conn.execute("UPDATE invoices_invoice SET amount_paid = 0, status = 'open' WHERE id = 1")
        conn.commit()
        conn.close()
    result = assina.run("check")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["violations"] >= 1 and "charges_match_invoices" in report["by_check"]
