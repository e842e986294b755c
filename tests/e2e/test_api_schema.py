"""Property-based fuzzing of the whole API from its own OpenAPI spec (schemathesis).

Every operation — this app's resources and the routers it mounts (usage, webhooks, metrics) —
gets a bounded number of generated requests, valid and invalid; none may answer 5xx or with a
status, content type, header or body its spec does not declare. ``bench/api_fuzz.py`` runs the
same with many more examples.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks as st_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi import checks as oa_checks

from django.core import signals
from django.db import close_old_connections

from django.core.wsgi import get_wsgi_application

# The app assina.wsgi serves, without its start-up check of the database's mode (that check reads
# the database at import, which test collection may not do; tests/e2e/test_cli_mode.py covers it).
application = get_wsgi_application()

# The coverage phase (hundreds of boundary cases per operation) runs in bench/api_fuzz.py; here:
# the spec's examples and a few generated requests, valid and invalid, per operation.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)

# No 5xx, and every response as the spec declares it (bench/api_fuzz.py also reports invalid
# input that was accepted).
CHECKS = [st_checks.not_a_server_error, oa_checks.status_code_conformance, oa_checks.content_type_conformance,
          oa_checks.response_headers_conformance, oa_checks.response_schema_conformance]


@pytest.fixture
def bearer(db, settings):
    """A write key, no rate limit, and a little data so that some generated ids exist."""
    settings.ASSINA_API_RATE_LIMIT = 0
    from api_support import new_key
    from factories import make_customer, make_plan, subscribe

    make_plan("pro", 4990)
    subscribe(make_customer(), "pro")
    # Requests go straight to the WSGI app: like Django's test client, keep Django from closing
    # the test's database connection (and its transaction) at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {new_key('write')}"}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_spec_on_any_input(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)
