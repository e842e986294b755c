"""Run the real ``assina`` console script in a subprocess against a scratch database.

Each scratch database is new: a SQLite file under the test's tmp dir, or, when the suite runs
on PostgreSQL (``ASSINA_TEST_ENGINE=postgres``), a uniquely named database created next to
``ASSINA_DATABASE_URL`` and dropped afterwards. These tests never use pytest-django's database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

# The fixed start of every test: a sandbox clock must not go back, so it is after real "now".
START = "2027-01-31T10:00:00Z"
ASSINA = Path(sys.executable).with_name("assina")
ON_POSTGRES = os.environ.get("ASSINA_TEST_ENGINE") == "postgres"
# Debian's Chromium (`make browser`), driven by Playwright; flags for a machine without a screen or network.
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]


class ScratchDatabase:
    """A database of its own for one test (or one module), and a way to read all of it."""

    def __init__(self, tmp_dir: Path) -> None:
        if ON_POSTGRES:
            import psycopg

            base = os.environ["ASSINA_DATABASE_URL"].rsplit("/", 1)[0]
            self._admin_url = base + "/postgres"
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            self.name = f"assina_e2e_{worker}_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(self._admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = f"{base}/{self.name}"
        else:
            self.path = tmp_dir / "assina.sqlite3"
            self.url = f"sqlite:///{self.path.resolve()}"

    def drop(self) -> None:
        if ON_POSTGRES:
            import psycopg

            with psycopg.connect(self._admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def snapshot(self) -> dict[str, list[str]]:
        """Every row of every table, in a comparable form: equal snapshots mean nothing changed."""
        if ON_POSTGRES:
            import psycopg

            with psycopg.connect(self.url) as conn:
                tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
                return {t: sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{t}"')) for t in sorted(tables)}
        import sqlite3

        conn = sqlite3.connect(self.path)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            return {t: sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{t}"')) for t in sorted(tables)}
        finally:
            conn.close()


@dataclass
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"assina {' '.join(self.args)} -> exit {self.returncode}\nstdout: {self.stdout!r}\nstderr: {self.stderr!r}"


class Assina:
    """The CLI as an operator runs it, pointed at one scratch database."""

    start = START

    def __init__(self, db: ScratchDatabase, cwd: Path) -> None:
        self.db = db
        self.cwd = cwd
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_"))}
        # Fixed business settings so dates without a zone and default currencies are predictable.
        env.update(ASSINA_DATABASE_URL=db.url, ASSINA_MODE="sandbox", ASSINA_TIME_ZONE="UTC", ASSINA_DEFAULT_CURRENCY="BRL")
        self.env = env

    def run(self, *args: str, json_output: bool = True, env: dict[str, str] | None = None) -> Result:
        argv = (("--json",) if json_output else ()) + tuple(str(a) for a in args)
        proc = subprocess.run([str(ASSINA), *argv], cwd=self.cwd, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=120)
        return Result(argv, proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kwargs) -> dict:
        """Run a command that must succeed and return its parsed JSON."""
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, str(result)
        assert "Traceback" not in result.stderr, str(result)
        return json.loads(result.stdout)

    def refused(self, *args: str, words: tuple[str, ...], **kwargs) -> str:
        """Run a command that must be refused cleanly: exit code 2, nothing on stdout, one JSON
        error on stderr that contains each of ``words``. Returns the message."""
        result = self.run(*args, **kwargs)
        assert result.returncode == 2, str(result)
        assert result.stdout == "", str(result)
        assert "Traceback" not in result.stderr, str(result)
        message = json.loads(result.stderr)["error"]
        for word in words:
            assert word.lower() in message.lower(), f"{word!r} not in the error message {message!r}"
        return message

    def invoices(self, *args: str) -> list[dict]:
        return self.ok("invoice", "list", *args)["invoices"]


@contextmanager
def _scratch_assina(tmp_dir: Path, *, migrate: bool = True) -> Iterator[Assina]:
    db = ScratchDatabase(tmp_dir)
    try:
        cli = Assina(db, tmp_dir)
        if migrate:
            assert cli.ok("migrate") == {"migrated": True}
            assert cli.ok("clock", "advance", "--to", START)["clock"] == START
        yield cli
    finally:
        db.drop()


@pytest.fixture(scope="session")
def scratch_assina():
    """``with scratch_assina(dir) as cli:`` a new database (migrated, clock at START, unless
    ``migrate=False``), dropped at the end; for fixtures wider than one test."""
    return _scratch_assina


@pytest.fixture
def assina(tmp_path: Path) -> Iterator[Assina]:
    """A migrated sandbox database of this test's own, its clock at ``Assina.start``."""
    with _scratch_assina(tmp_path) as cli:
        yield cli


@pytest.fixture
def browser_context(tmp_path, monkeypatch):
    """A fresh headless Chromium profile for one test (pages in English unless a test says otherwise)."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: run `make browser`")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM, args=ARGS,
                                                       headless=True, locale="en-US")
        yield context
        context.close()
