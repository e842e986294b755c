"""Test set-up shared by every layer. On PostgreSQL (ASSINA_TEST_ENGINE=postgres) an unreachable
server is a failure, never a skip."""

import compileall
import os
from pathlib import Path

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: runs on SQLite only (e.g. file-level behaviour)")
    config.addinivalue_line("markers", "postgres_only: needs real row locks between connections (run by the PostgreSQL pass)")
    if not hasattr(config, "workerinput"):
        # Once per run, before xdist's workers start: the sources' bytecode, so that each
        # ``assina`` command the end-to-end tests start reads it instead of compiling the ~300
        # modules again (a third of a second each; none is written when PYTHONDONTWRITEBYTECODE is set).
        compileall.compile_dir(Path(__file__).resolve().parents[1] / "src", quiet=1)


def pytest_collection_modifyitems(config, items):
    # Row-lock tests need PostgreSQL; the PostgreSQL pass of `make test` (required in CI) runs them.
    if os.environ.get("ASSINA_TEST_ENGINE") == "postgres":
        return
    kept = [item for item in items if item.get_closest_marker("postgres_only") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def pytest_sessionstart(session):
    if os.environ.get("ASSINA_TEST_ENGINE") == "postgres":
        import psycopg

        url = os.environ.get("ASSINA_DATABASE_URL", "")
        if not url.startswith(("postgres://", "postgresql://")):
            pytest.exit("ASSINA_TEST_ENGINE=postgres needs ASSINA_DATABASE_URL to point at PostgreSQL", returncode=3)
        try:
            psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=5).close()
        except Exception as exc:  # noqa: BLE001 - any failure to connect must fail the run
            pytest.exit(f"PostgreSQL is not reachable at {url}: {exc}", returncode=3)


@pytest.fixture(autouse=True, scope="session")
def _postgres_flush_deletes_rows():
    """On PostgreSQL a transactional test's flush deletes the rows instead of truncating every
    table: ``TRUNCATE`` of the ~80 tables takes over a second on PostgreSQL (new files for each
    table and a commit that waits for them), deleting the few rows a test wrote a few
    milliseconds. The tables end as empty either way: Django's foreign keys are deferred to the
    commit, so the order of the deletes does not matter. Resetting sequences keeps Django's own
    statements."""
    if os.environ.get("ASSINA_TEST_ENGINE") != "postgres":
        yield
        return
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts and ends in the default language: a request in Portuguese (the admin
    tests) leaves its language active in the thread, which would leak into the next test."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _webhook_receivers_on_loopback(settings):
    """The tests' webhook receivers listen on 127.0.0.1, which production refuses (issue 14): allow
    it as a developer would with ASSINA_WEBHOOK_ALLOW_PRIVATE=1. The tests of the refusal
    (tests/integration/test_webhooks_reach.py) turn it off again."""
    settings.ASSINA_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture(autouse=True, scope="session")
def _database_mode_follows_the_test_settings():
    """A test that sets ``settings.ASSINA_MODE`` (pytest-django's ``settings`` fixture or
    ``override_settings``) gets a database recorded in that mode too, as ``assina migrate`` in that
    mode would have made it: the processes' agreement check (assina.clock.installation) then
    passes, as it does in production. Tests of a disagreement change the row after the setting
    (tests/integration/test_database_mode.py)."""
    from django.test.signals import setting_changed

    def follow(setting, value, **kwargs):
        if setting != "ASSINA_MODE":
            return
        from assina.clock.installation import forget_link_signing_key
        from assina.clock.models import Installation

        try:
            Installation.objects.filter(pk=1).update(mode=value)
        except RuntimeError:  # pytest-django: this test has no database access; nothing to follow
            pass
        forget_link_signing_key()

    setting_changed.connect(follow, dispatch_uid="tests.database_mode_follows")
    yield
    setting_changed.disconnect(dispatch_uid="tests.database_mode_follows")


@pytest.fixture(autouse=True)
def _database_mode_recorded(request):
    """A database test starts with the mode recorded, as after ``assina migrate``: a transactional
    test limited to some apps (``available_apps``) flushes the tables without Django's
    ``post_migrate``, which would leave the next test's database without its mode."""
    db_fixtures = {"db", "transactional_db", "live_server", "django_db_reset_sequences", "django_db_serialized_rollback"}
    if request.node.get_closest_marker("django_db") is None and not db_fixtures & set(request.fixturenames):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    from assina.clock.installation import record_mode

    record_mode()
    yield


@pytest.fixture(autouse=True)
def _portal_homes_made_afresh():
    """No portal home, suggestions card or checkout page kept by an earlier test
    (``assina.portal.home``, ``assina.portal.views.cards``, ``assina.selling.views``): test
    databases reuse ids, so an earlier test's kept part could match a later one's stamps."""
    from assina.portal import home
    from assina.portal.views import cards
    from assina.selling import views as selling_views
    from assina.upgrades.suggestions import forget_bundles

    home.forget()
    cards.forget()
    selling_views.forget()  # the checkout page's kept prices, suggestions and frames
    forget_bundles()

