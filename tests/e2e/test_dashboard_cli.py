"""``assina metrics`` in a subprocess, as an operator runs it (the dashboard's figures as JSON)."""

from __future__ import annotations


def test_assina_metrics_prints_the_figures_as_json_and_refuses_bad_input(assina):
    assina.ok("plan", "create", "--code", "yearly", "--amount", "360.00", "--interval", "year")
    assina.ok("customer", "create", "--email", "ana@example.com", "--card", "4242424242424242")
    assina.ok("subscription", "create", "--customer", "ana@example.com", "--plan", "yearly")
    report = assina.ok("metrics", "--as-of", "2027-01-31", "--from", "2027-01", "--to", "2027-01", "--plan", "yearly")
    s = report["summary"]
    assert report["currency"] == "BRL" and report["reconciles"] and report["filters"] == {"plan": "yearly"}
    # 360.00 a year is 30.00 a month: one new customer.
    assert (s["mrr"], s["arr"], s["customers"], s["new"]) == (3000, 36000, 1, 3000)
    assert [m["month"] for m in report["months"]] == ["2027-01"]
    assert report["mix"][1] == {"interval": "annual", "mrr": 3000, "subscriptions": 1, "share": 1.0}
    assina.refused("metrics", "--as-of", "2027-02-30", words=("--as-of", "2027-02-30"))
