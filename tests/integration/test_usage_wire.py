"""Usage bodies read by msgspec (assina.usage.wire) exactly as the documented pydantic schemas
read them: strict JSON types, the same bounds, the same instants; refusals with the same 4xx."""

from datetime import datetime, timezone

import msgspec
import pytest
from factories import make_customer, utc
from usage_support import calls_event, problem, usage_api  # noqa: F401

from assina.usage import wire
from assina.usage.api import UsageBatchIn, UsageEventIn
from assina.usage.models import UsageEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(usage_api):
    return usage_api


_event = calls_event


def _constraints(schema):
    """A JSON schema without its words (descriptions, examples, titles) and defaults."""
    if isinstance(schema, dict):
        return {k: _constraints(v) for k, v in schema.items() if k not in ("description", "examples", "title", "default")}
    if isinstance(schema, list):
        return [_constraints(v) for v in schema]
    return schema


def test_the_fast_structs_have_the_fields_and_bounds_of_the_documented_schemas():
    documented = UsageEventIn.model_json_schema()
    _, components = msgspec.json.schema_components([wire.UsageEventStruct])
    fast = components["UsageEventStruct"]
    assert set(fast["properties"]) == set(documented["properties"])
    assert set(fast["required"]) == set(documented["required"])
    for name, field in documented["properties"].items():
        assert _constraints(fast["properties"][name]) == _constraints(field), name
    assert fast["additionalProperties"] is documented["additionalProperties"] is False
    assert set(UsageBatchIn.model_fields) == set(wire.UsageBatchStruct.__struct_fields__)


@pytest.mark.parametrize("extra", [{"value": "3"}, {"value": True}, {"value": 3.0}, {"value": -1}, {"value": 10**12 + 1},
                                   {"id": ""}, {"id": 5}, {"metric": "x" * 65}, {"timestamp": 1799000000},
                                   {"timestamp": "2027-01-09T10:00:00"}, {"properties": {"a": [1]}},
                                   {"properties": {f"k{i}": i for i in range(51)}}, {"customer": 5}])
def test_lax_or_out_of_bounds_values_are_refused_by_both_endpoints(api, extra):
    customer = make_customer()
    problem(api.post("/usage", _event(1, customer, **extra)), 422, "validation_error")
    body = problem(api.post("/usage/batch", {"events": [_event(0, customer), _event(1, customer, **extra)]}), 422,
                   "validation_error")
    assert body["errors"][0]["loc"][:3] == ["body", "events", "1"]
    assert not UsageEvent.objects.exists()


def test_what_only_the_documented_schema_accepts_is_still_accepted(api):
    customer = make_customer()
    # ISO 8601 without seconds (not RFC 3339): msgspec refuses it, the schema accepts it.
    assert api.post("/usage", _event(1, customer, timestamp="2027-01-09T10:00Z")).status_code == 200
    # Past microseconds: truncated (as pydantic does), never rounded into the next second or period.
    assert api.post("/usage/batch", {"events": [_event(2, customer, timestamp="2027-01-09T23:59:59.9999999Z")]}
                    ).json()["stored"] == 1
    stored = dict(UsageEvent.objects.values_list("event_id", "timestamp"))
    assert stored == {"e1": utc(2027, 1, 9, 10), "e2": datetime(2027, 1, 9, 23, 59, 59, 999999, tzinfo=timezone.utc)}


def test_only_times_past_the_microsecond_leave_the_fast_path():
    assert wire._SUB_MICROSECOND.search(b'{"timestamp": "2027-01-09T23:59:59.9999999Z"}')
    assert not wire._SUB_MICROSECOND.search(b'{"timestamp": "2027-01-09T23:59:59.999999Z", "properties": {"x":12.1234567}}')


def test_timestamps_are_stored_in_utc_to_the_microsecond(api):
    customer = make_customer()
    events = [_event(1, customer, timestamp="2027-01-09T07:00:00.000001-03:00"),
              _event(2, customer, timestamp="2027-01-09T10:00:00.5Z"), _event(3, customer, timestamp="2027-01-09 10:00:00Z"),
              _event(4, customer, properties={"region": "br", "n": 1, "f": 1.5, "ok": True, "none": None})]
    assert api.post("/usage/batch", {"events": events}).json()["stored"] == 4
    rows = {e.event_id: e for e in UsageEvent.objects.all()}
    assert rows["e1"].timestamp == datetime(2027, 1, 9, 10, 0, 0, 1, tzinfo=timezone.utc)
    assert rows["e2"].timestamp == datetime(2027, 1, 9, 10, 0, 0, 500000, tzinfo=timezone.utc)
    assert rows["e3"].timestamp == utc(2027, 1, 9, 10)
    assert rows["e4"].properties == {"region": "br", "n": 1, "f": 1.5, "ok": True, "none": None}
    assert UsageEvent.objects.filter(timestamp__gte=datetime(2027, 1, 9, 10, 0, 0, 1, tzinfo=timezone.utc)).count() == 2


def test_a_timestamp_without_a_utc_equivalent_is_a_problem_not_a_500(api):
    customer = make_customer()
    body = problem(api.post("/usage/batch", {"events": [_event(1, customer),
                                                        _event(2, customer, timestamp="0001-01-01T00:00:00+01:00")]}),
                   422, "usage_invalid")
    assert body["errors"][0]["loc"] == ["events", 1, "timestamp"]
    assert not UsageEvent.objects.exists()


def test_a_nul_character_is_found_however_the_body_spells_it(api):
    customer = make_customer()
    assert wire.may_contain_nul(b'{"id": "a\\u0000"}') and not wire.may_contain_nul(b'{"id": "a\\\\u0001"}')
    refused = problem(api.post("/usage/batch", b'{"events": [{"id": "x\\u0000", "customer": "cus_%d", "metric": "calls", '
                               b'"timestamp": "2027-01-09T10:00:00Z"}]}' % customer.pk), 422, "validation_error")
    assert refused["errors"][0]["type"] == "nul_character"  # found by the API before the operation runs
    # An escaped backslash before u0000 is no NUL: stored as written.
    ok = b'{"events": [{"id": "x\\\\u0000", "customer": "cus_%d", "metric": "calls", "timestamp": "2027-01-09T10:00:00Z"}]}'
    assert api.post("/usage/batch", ok % customer.pk).json()["stored"] == 1
    assert UsageEvent.objects.get().event_id == "x\\u0000"


def test_list_filters_take_true_or_false_only(api):
    customer = make_customer()
    api.post("/usage", _event(1, customer))
    assert len(api.get("/usage", {"late": "false"}).json()["data"]) == 1
    assert api.get("/usage", {"billed": "true"}).json()["data"] == []
    for value in ("1", "0", "yes", "on", "t"):
        problem(api.get("/usage", {"late": value}), 422, "validation_error")
        problem(api.get("/usage", {"billed": value}), 422, "validation_error")
