"""A new, empty PostgreSQL database for a benchmark run (the one named in its URL is dropped and
recreated). Shared by the benchmarks; SQLite runs use a new file instead."""

from __future__ import annotations


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.startswith(("postgres://", "postgresql://"))


def recreate_postgres(url: str) -> str:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url
