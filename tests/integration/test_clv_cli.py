"""``assina forecast retention|purchases`` in this process (``assina.cli.main``): the published
fits from the command line, the per-customer file, and bad input refused with exit 2 and a
message in the reader's language."""

from __future__ import annotations

import csv
import json

import pytest
from forecast_support import REGULAR, cdnow_summary, within

from assina.cli import main

pytestmark = pytest.mark.django_db


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"]) or 0
    captured = capsys.readouterr()
    return code, json.loads(captured.out if code == 0 else captured.err)


def test_retention_fits_the_published_cohort_and_projects_it(capsys):
    code, body = run(capsys, "forecast", "retention", "--counts", ",".join(map(str, REGULAR[:8])), "--horizon", "12")
    assert code == 0
    assert within(body["alpha"], 0.704) and within(body["beta"], 1.182)
    assert body["log_likelihood"] == pytest.approx(-1680.27, abs=0.01) and body["converged"]
    assert len(body["survivors"]) == 13 and body["survivors"][0] == 1000
    assert body["retention_rates"][0] is None and body["retention_rates"][1] == pytest.approx(1.182043 / (0.704077 + 1.182043), rel=1e-4)
    # The held-out years 8-12 projected within 4 customers of what happened (tests/unit/test_core_sbg.py).
    assert all(abs(p - a) <= 3.5 for p, a in zip(body["survivors"][8:], REGULAR[8:]))
    assert body["discount_rate"] == 0.1 and body["derl"][0] == pytest.approx(2.9644, abs=1e-3)
    assert body["derl"] == sorted(body["derl"])  # the longer a customer has stayed, the more they are worth


def test_purchases_fits_cdnow_and_writes_every_customer(tmp_path, capsys):
    data = cdnow_summary()
    summary = tmp_path / "cdnow.csv"
    with summary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "frequency", "recency", "T", "monetary_value"])
        writer.writerows(zip(range(1, len(data["T"]) + 1), data["frequency"].astype(int), data["recency"], data["T"], data["monetary_value"]))
    out = tmp_path / "customers.csv"
    code, body = run(capsys, "forecast", "purchases", "--summary", str(summary), "--period", "4.345", "--out", str(out))
    assert code == 0 and body["customers"] == 2357 and body["out"] == str(out)
    assert within(body["bgnbd"]["r"], 0.243) and within(body["bgnbd"]["b"], 2.426)
    assert within(body["gamma_gamma"]["p"], 6.25) and within(body["gamma_gamma"]["v"], 15.44)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2357 and list(rows[0]) == ["customer_id", "expected_purchases", "probability_alive", "expected_order_value", "clv"]
    # Customer 1 (x = 2, t_x = 30.43, T = 38.86): 36.28 US$ over 12 months at 1 % a month, as lifetimes computes.
    assert float(rows[0]["clv"]) == pytest.approx(36.2785, abs=1e-3)
    # Without monetary values: the purchase model only, each customer printed.
    plain = tmp_path / "plain.csv"
    with plain.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "frequency", "recency", "T"])
        writer.writerows(zip(range(1, len(data["T"]) + 1), data["frequency"].astype(int), data["recency"], data["T"]))
    code, printed = run(capsys, "forecast", "purchases", "--summary", str(plain), "--horizon", "39")
    assert code == 0 and "gamma_gamma" not in printed and len(printed["customers"]) == 2357
    first = printed["customers"][0]
    assert set(first) == {"customer_id", "expected_purchases", "probability_alive"}
    assert first["customer_id"] == "1" and first["expected_purchases"] == pytest.approx(1.2259, abs=1e-4)


@pytest.mark.parametrize(("argv", "words"), [
    (("retention", "--counts", "1000,631,abc"), ("number 3", "'abc'")),
    (("retention", "--counts", "1000,631"), ("at least two periods",)),
    (("retention", "--counts", "1000,631,700"), ("cannot grow", "period 2")),
    (("retention", "--counts", "1000,1000,1000"), ("nobody left",)),
    (("purchases", "--summary", "/nonexistent/summary.csv"), ("cannot read", "/nonexistent/summary.csv")),
])
def test_bad_input_is_refused(capsys, argv, words):
    code, body = run(capsys, "forecast", *argv)
    assert code == 2
    for word in words:
        assert word in body["error"], body


@pytest.mark.parametrize("argv", [("--horizon", "0"), ("--horizon", "1201"), ("--discount-rate", "2"), ("--discount-rate", "x")])
def test_out_of_range_options_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as exited:
        main(["forecast", "retention", "--counts", "1000,631,468", *argv, "--json"])
    assert exited.value.code == 2 and argv[0] in json.loads(capsys.readouterr().err)["error"]


@pytest.mark.parametrize(("content", "words"), [
    ("customer_id,frequency,T\n1,2,30\n", ("no column recency",)),
    ("customer_id,frequency,recency,T\n1,2,30,40\n2,x,0,40\n", ("line 3", "frequency", "'x'")),
    ("customer_id,frequency,recency,T\n1,2,50,40\n", ("recency cannot be greater than T",)),
    ("customer_id,frequency,recency,T\n1,0,0,40\n2,0,0,40\n", ("no customer made a repeat purchase",)),
    ("customer_id,frequency,recency,T,monetary_value\n1,2,30,40,0\n2,1,10,40,5\n", ("monetary value", "more than 0")),
])
def test_bad_summaries_are_refused(tmp_path, capsys, content, words):
    path = tmp_path / "summary.csv"
    path.write_text(content)
    code, body = run(capsys, "forecast", "purchases", "--summary", str(path))
    assert code == 2
    for word in words:
        assert word in body["error"], body


def test_errors_in_portuguese(capsys, settings):
    settings.LANGUAGE_CODE = "pt-br"
    code, body = run(capsys, "forecast", "retention", "--counts", "1000,1000,1000")
    assert code == 2 and body["error"] == "ninguém saiu em nenhum período: o modelo precisa de alguns clientes que cancelaram"
