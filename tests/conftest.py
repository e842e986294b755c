"""Test set-up shared by every layer. On PostgreSQL (ASSINA_TEST_ENGINE=postgres) an unreachable
server is a failure, never a skip."""

import os

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: runs on SQLite only (e.g. file-level behaviour)")


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
