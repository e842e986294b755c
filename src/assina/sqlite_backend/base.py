"""Django's SQLite backend, with its write transactions taking turns on a file lock.

SQLite lets one connection write at a time; every transaction begins IMMEDIATE (settings), so
a writer that finds the lock taken waits in SQLite's busy handler, which sleeps 1, 2, 5, 10,
15, 20, 25 ... ms between tries. A checkout holds the lock a millisecond or two per
transaction, so the waiting writers wake long after it was free, and the only thing that
matters under load (the one writer) sits idle: measured with two processes doing checkouts on
one file, 5 ms of waiting per checkout, and more CPU spent than with one process.

Here each connection takes a file lock (``flock`` on ``<database>-writer``) before its
``BEGIN IMMEDIATE`` and gives it back after its ``COMMIT`` or ``ROLLBACK``: the kernel hands the
turn to the next waiting writer the moment it is released, in the order they asked. A single
writing statement outside a transaction (autocommit) takes its turn too: polling SQLite's lock
while the others hand it on directly, it would wait for ever. SQLite's own lock stays the
guarantee; another program simply meets it as before. The kernel releases a dead process's
file lock. A file lock belongs to the open file, so each connection (one per thread in Django)
opens its own; after a fork it is opened again. In-memory databases (the tests) and databases
whose directory cannot take the file have nobody to queue with and skip it.
"""

from __future__ import annotations

import fcntl
import os
import re

from django.db.backends.sqlite3 import base


class _Turn:
    """The file lock one connection queues on; its descriptor closes with it."""

    def __init__(self, path: str) -> None:
        self.pid = os.getpid()
        self.held = False
        try:
            self.fd: int | None = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            self.fd = None

    def take(self) -> None:
        if self.fd is not None and not self.held:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.held = True

    def give(self) -> None:
        if self.held:
            self.held = False
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def __del__(self) -> None:
        if self.fd is not None and self.pid == os.getpid():
            os.close(self.fd)


# A statement that may write (a WITH may end in one); anything else is a read, which never waits.
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|WITH)\b", re.IGNORECASE)


class _Cursor(base.SQLiteCursorWrapper):
    """Django's cursor; a write outside a transaction runs in its own turn."""

    turn: _Turn | None = None

    def execute(self, query, params=None):
        return self._in_turn(query, super().execute, query, params)

    def executemany(self, query, param_list):
        return self._in_turn(query, super().executemany, query, param_list)

    def _in_turn(self, query: str, run, *args):
        turn = self.turn
        if turn is None or turn.held or self.connection.in_transaction or not _WRITES.match(query):
            return run(*args)
        turn.take()
        try:
            return run(*args)
        finally:
            turn.give()


class DatabaseWrapper(base.DatabaseWrapper):
    _turn: _Turn | None = None

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=_Cursor)
        cursor.turn = self._writer_turn()
        return cursor

    def _writer_turn(self) -> _Turn | None:
        turn = self._turn
        if turn is not None and turn.pid == os.getpid():
            return turn
        if self.is_in_memory_db():
            return None
        # new, or inherited across a fork (whose lock the parent shares)
        turn = self._turn = _Turn(os.fspath(self.settings_dict["NAME"]))
        return turn

    def _start_transaction_under_autocommit(self) -> None:
        turn = self._writer_turn()
        if turn is not None:
            turn.take()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            if turn is not None:
                turn.give()
            raise

    def _give_turn(self) -> None:
        if self._turn is not None:
            self._turn.give()

    def _commit(self) -> None:
        super()._commit()  # a COMMIT that fails leaves the transaction open: its rollback gives the turn back
        self._give_turn()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._give_turn()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._give_turn()
