"""Plan codes and segments that read as JSON numbers, booleans or NaN ("0", "true", "NaN",
"123") are text in the metrics, like any other code (bench/api_fuzz.py found a 500 on every
/api/v1/metrics endpoint after the fuzzer created a plan coded "0")."""

from __future__ import annotations

import pytest
from factories import make_customer, make_plan, subscribe, utc
from metrics_support import metrics_api  # noqa: F401


pytestmark = pytest.mark.django_db


@pytest.fixture
def api(metrics_api):
    return metrics_api


def test_codes_that_look_like_json_values_stay_text(api):
    for i, code in enumerate(("0", "true", "NaN", "null", "1e5")):
        make_plan(code, 1000 * (i + 1))
        subscribe(make_customer(metadata={"segment": ["123", "false", "NaN", "0", "x"][i]}), code, start=utc(2027, 1, 5))
    body = api.ok("GET", "/metrics", {"from": "2027-01", "to": "2027-03"})
    assert {p["plan"]: p["mrr"] for p in body["plans"]} == {"0": 1000, "true": 2000, "NaN": 3000, "null": 4000, "1e5": 5000}
    assert body["summary"]["mrr"] == 15000
    assert api.ok("GET", "/metrics/summary", {"plan": "0"})["summary"]["mrr"] == 1000
    assert api.ok("GET", "/metrics/summary", {"segment": "123"})["summary"]["mrr"] == 1000
    assert api.ok("GET", "/metrics/summary", {"segment": "NaN"})["summary"]["mrr"] == 3000
