"""Run the real ``assina`` console script in a subprocess against a scratch database.

Each scratch database is new: a SQLite file under the test's tmp dir, or, when the suite runs
on PostgreSQL (``ASSINA_TEST_ENGINE=postgres``), a uniquely named database created next to
``ASSINA_DATABASE_URL`` and dropped afterwards. These tests never use pytest-django's database.

A migrated scratch database starts as a copy of one template per test process: ``assina migrate``
and ``assina clock advance --to START`` run once (through the console script, their output
checked), then each test gets a copy of that database (a file copy on SQLite, ``CREATE DATABASE
... TEMPLATE`` on PostgreSQL): milliseconds instead of two process start-ups and every migration.
Tests of ``migrate`` itself ask for an empty database (``migrate=False``) and run it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import threading
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


class _Dropper:
    """Drops PostgreSQL scratch databases one after another in a thread of its own."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._errors: list[str] = []

    def drop(self, admin_url: str, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="scratch-database-dropper", daemon=True)
            self._thread.start()
        self._queue.put((admin_url, name))

    def _work(self) -> None:
        import psycopg

        while (job := self._queue.get()) is not None:
            admin_url, name = job
            try:
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - reported by wait()
                self._errors.append(f"{name}: {exc}")

    def wait(self) -> None:
        """Every database handed over so far is dropped (or its failure raised)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        errors, self._errors = self._errors, []
        assert not errors, f"scratch databases not dropped: {errors}"


_dropper = _Dropper()


@pytest.fixture(autouse=True, scope="session")
def _scratch_databases_dropped() -> Iterator[None]:
    yield
    _dropper.wait()


class ScratchDatabase:
    """A database of its own for one test (or one module), and a way to read all of it."""

    def __init__(self, tmp_dir: Path, template: ScratchDatabase | None = None) -> None:
        """A new database; a copy of ``template`` (a database no process has open) if given."""
        if ON_POSTGRES:
            import psycopg

            base = os.environ["ASSINA_DATABASE_URL"].rsplit("/", 1)[0]
            self._admin_url = base + "/postgres"
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            self.name = f"assina_e2e_{worker}_{uuid.uuid4().hex[:12]}"
            copy = f' TEMPLATE "{template.name}"' if template is not None else ""
            with psycopg.connect(self._admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"{copy}')
            self.url = f"{base}/{self.name}"
        else:
            self.path = tmp_dir / "assina.sqlite3"
            self.url = f"sqlite:///{self.path.resolve()}"
            if template is not None:
                shutil.copyfile(template.path, self.path)

    def settle(self) -> None:
        """Make the database one file that a copy reproduces: SQLite's write-ahead log folded in."""
        if not ON_POSTGRES:
            import sqlite3

            conn = sqlite3.connect(self.path)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()  # the last connection to close removes the -wal file
            assert not Path(f"{self.path}-wal").exists(), "a process still has the template open"

    def drop(self) -> None:
        """On PostgreSQL the database goes in the background (``DROP DATABASE`` waits a second or
        two for the server's files while the next test runs); ``_dropper.wait()`` at the end."""
        if ON_POSTGRES:
            _dropper.drop(self._admin_url, self.name)

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


class _Template:
    """The migrated database (clock at START) of this test process, made on first use."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._factory = tmp_path_factory
        self.db: ScratchDatabase | None = None

    def get(self) -> ScratchDatabase:
        if self.db is None:
            folder = self._factory.mktemp("template")
            db = ScratchDatabase(folder)
            try:
                cli = Assina(db, folder)
                assert cli.ok("migrate") == {"migrated": True}
                assert cli.ok("clock", "advance", "--to", START)["clock"] == START
                db.settle()
            except BaseException:
                db.drop()
                raise
            self.db = db
        return self.db

    def drop(self) -> None:
        if self.db is not None:
            self.db.drop()


class InProcessDatabase:
    """pytest-django's test database, read like a ``ScratchDatabase`` (through the test's own
    connection, which sees what the test's transaction wrote)."""

    def snapshot(self) -> dict[str, list[str]]:
        from django.db import connection

        with connection.cursor() as cursor:
            snapshot = {}
            for table in sorted(connection.introspection.table_names(cursor)):
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
                snapshot[table] = sorted(repr(row) for row in cursor.fetchall())
            return snapshot


class InProcessAssina(Assina):
    """The CLI's ``main(argv)`` run in this process on pytest-django's test database: the same
    parser, handlers, printers and exit codes as the console script, without a process start-up
    (about a second each). What needs a process of its own (a setting read from the environment
    at start-up, bytes in argv, the console script's exit status) stays with ``Assina``; so an
    ``env`` is refused here."""

    def __init__(self) -> None:
        self.db = InProcessDatabase()
        self.cwd = None
        self.env = None

    def run(self, *args: str, json_output: bool = True, env: dict[str, str] | None = None) -> Result:
        assert not env, "settings from the environment need a process of their own: use the `assina` fixture"
        import io
        from contextlib import redirect_stderr, redirect_stdout

        from django.test import override_settings

        from assina.cli import main

        argv = (("--json",) if json_output else ()) + tuple(str(a) for a in args)
        out, err = io.StringIO(), io.StringIO()
        # The settings `Assina` gives its processes through the environment, and the default the
        # tests' conftest changes (loopback webhook receivers).
        settings = override_settings(ASSINA_MODE="sandbox", TIME_ZONE="UTC", ASSINA_DEFAULT_CURRENCY="BRL",
                                     ASSINA_WEBHOOK_ALLOW_PRIVATE=False)
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level  # main() sets Django's logging up again
        try:
            with settings, redirect_stdout(out), redirect_stderr(err):
                try:
                    code = main(list(argv))
                except SystemExit as exc:  # argparse's usage errors and --help
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
        return Result(argv, code, out.getvalue(), err.getvalue())


@contextmanager
def _scratch_assina(tmp_dir: Path, *, migrate: bool = True, template: _Template | None = None) -> Iterator[Assina]:
    db = ScratchDatabase(tmp_dir, template.get() if migrate and template is not None else None)
    try:
        cli = Assina(db, tmp_dir)
        if migrate and template is None:
            assert cli.ok("migrate") == {"migrated": True}
            assert cli.ok("clock", "advance", "--to", START)["clock"] == START
        yield cli
    finally:
        db.drop()


@pytest.fixture(scope="session")
def _assina_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Template]:
    template = _Template(tmp_path_factory)
    yield template
    template.drop()


@pytest.fixture(scope="session")
def scratch_assina(_assina_template: _Template):
    """``with scratch_assina(dir) as cli:`` a new database (migrated, clock at START, unless
    ``migrate=False``), dropped at the end; for fixtures wider than one test."""
    return functools.partial(_scratch_assina, template=_assina_template)


@pytest.fixture
def assina(tmp_path: Path, _assina_template: _Template) -> Iterator[Assina]:
    """A migrated sandbox database of this test's own, its clock at ``Assina.start``."""
    with _scratch_assina(tmp_path, template=_assina_template) as cli:
        yield cli


@pytest.fixture
def assina_in_process(db) -> InProcessAssina:
    """The CLI in this process on the test database, its clock at ``Assina.start`` (see ``InProcessAssina``)."""
    cli = InProcessAssina()
    assert cli.ok("clock", "advance", "--to", START)["clock"] == START
    return cli


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
