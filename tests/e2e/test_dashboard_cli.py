"""``assina metrics`` in a subprocess, as an operator runs it (the dashboard's figures as JSON)."""

from __future__ import annotations


def test_assina_metrics_prints_the_figures_as_json_and_refuses_bad_input(assina):
    assina.ok("plan", "create", "--code", "basic", "--amount", "30.00", "--interval", "month")
    assina.ok("plan", "create", "--code", "yearly", "--amount", "360.00", "--interval", "year")
    assina.ok("customer", "create", "--email", "ana@example.com", "--card", "4242424242424242")
    assina.ok("customer", "create", "--email", "bia@example.com", "--card", "4242424242424242")
    assina.ok("subscription", "create", "--customer", "ana@example.com", "--plan", "basic")
    assina.ok("subscription", "create", "--customer", "bia@example.com", "--plan", "yearly")
    report = assina.ok("metrics", "--as-of", "2027-01-31", "--from", "2027-01", "--to", "2027-01")
    s = report["summary"]
    assert report["currency"] == "BRL" and report["reconciles"]
    # 30.00 a month and 360.00 a year (30.00 a month): two new customers.
    assert (s["mrr"], s["arr"], s["customers"], s["new"]) == (6000, 72000, 2, 6000)
    assert [m["month"] for m in report["months"]] == ["2027-01"]
    yearly = assina.ok("metrics", "--as-of", "2027-01-31", "--months", "1", "--plan", "yearly")
    assert yearly["summary"]["mrr"] == 3000 and yearly["mix"][1] == {"interval": "annual", "mrr": 3000,
                                                                     "subscriptions": 1, "share": 1.0}
    assina.refused("metrics", "--as-of", "2027-02-30", words=("--as-of", "2027-02-30"))
    assina.refused("metrics", "--plan", "nope", words=("nope",))
