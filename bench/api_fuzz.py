"""The long fuzzing run: schemathesis over the whole /api/v1 spec, all phases, many examples.

The test suite runs the same checks with a few examples per operation
(tests/e2e/test_api_schema.py); this runs the schemathesis CLI against the production server
(gunicorn, a fresh SQLite database with some customers and subscriptions) with the examples,
coverage (boundary values and invalid inputs derived from each schema) and fuzzing phases.
With ``--simulate N`` the database is filled by ``assina simulate`` instead (N customers over
``--months`` months of billing: invoices, payments, cancellations, metrics with real figures),
which reaches code an almost empty database does not.

    .venv/bin/python bench/api_fuzz.py --examples 100
    .venv/bin/python bench/api_fuzz.py --examples 100 --simulate 60 --months 6
    .venv/bin/python bench/api_fuzz.py --examples 100 --database postgres://postgres@127.0.0.1:5432/assina_fuzz

Checks: no 5xx, and status codes, content types, headers and bodies as the spec declares.
Prints JSON: the outcome, operations tested, failures, seconds; the schemathesis output and JSON
report are kept (/tmp/assina-api-fuzz-<engine>-<port>.txt/.json) when something fails. Exit code 1 when a check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from api_reads import ROOT, prepare, start_server

from fresh_database import recreate_postgres

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="generated examples per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=18743)
    # One: with two, schemathesis' threads build Hypothesis strategies at the same time, and
    # CPython 3.11's ast.parse is not thread-safe ("AST constructor recursion depth mismatch").
    parser.add_argument("--workers", type=int, default=1, help="schemathesis client workers")
    parser.add_argument("--database", help="a PostgreSQL URL to (re)create; default: a temporary SQLite file")
    parser.add_argument("--simulate", type=int, default=0, metavar="CUSTOMERS",
                        help="fill the database with `assina simulate` (this many customers) instead of a few rows")
    parser.add_argument("--months", type=int, default=6, help="months simulated with --simulate")
    parser.add_argument("--keep-report", action="store_true", help="keep the schemathesis output even when it passes")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="assina-api-fuzz-"))
    if args.database:
        url = recreate_postgres(args.database)
    else:
        url = f"sqlite:///{tmp / 'fuzz.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_"))}
    env.update(ASSINA_DATABASE_URL=url, ASSINA_MODE="sandbox", PYTHONPATH=str(ROOT / "src"))
    if args.simulate:
        assina = str(ROOT / ".venv" / "bin" / "assina")
        subprocess.run([assina, "migrate"], env=env, capture_output=True, check=True)
        subprocess.run([assina, "simulate", "--customers", str(args.simulate), "--months", str(args.months),
                        "--seed", str(args.seed)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    else:
        _ids, _read_secret = prepare(env, 5)
    secret = subprocess.run([str(ROOT / ".venv" / "bin" / "assina"), "--json", "apikey", "create", "--scope", "write"],
                            env=env, capture_output=True, text=True, check=True).stdout
    secret = json.loads(secret)["secret"]
    # The rate limiter stays on, above what the fuzzer sends: a 429 would hide the code behind it.
    server = start_server({**env, "ASSINA_API_RATE_LIMIT": "1000000"}, args.port, 2, 4, "assina.wsgi", "/api/v1/openapi.json")
    report = tmp / "report.json"
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "schemathesis"), "run", f"http://127.0.0.1:{args.port}/api/v1/openapi.json",
             "-H", f"Authorization: Bearer {secret}", "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
             "-n", str(args.examples), "--seed", str(args.seed), "--workers", str(args.workers),
             "--continue-on-failure", "--report", "json", "--report-json-path", str(report), "--no-color"],
            env=env, capture_output=True, text=True, check=False)
    finally:
        server.terminate()
        server.wait(timeout=30)
    seconds = round(time.perf_counter() - started, 1)
    summary_lines = [line for line in proc.stdout.splitlines() if line.strip()][-12:]
    kept = None
    if proc.returncode != 0 or args.keep_report:
        # Named by engine and port: two runs (SQLite and PostgreSQL) may go at once.
        stem = f"assina-api-fuzz-{'postgresql' if args.database else 'sqlite'}-{args.port}"
        kept = Path(tempfile.gettempdir()) / f"{stem}.txt"
        kept.write_text(proc.stdout + proc.stderr)
        if report.exists():  # the structured report: every failing case with its curl command
            shutil.copy(report, Path(tempfile.gettempdir()) / f"{stem}.json")
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"benchmark": "api_fuzz", "passed": proc.returncode == 0, "examples_per_operation": args.examples,
                      "engine": "postgresql" if args.database else "sqlite", "load_average": os.getloadavg(),
                      "database": f"simulated: {args.simulate} customers, {args.months} months" if args.simulate
                      else "5 subscriptions",
                      "phases": "examples,coverage,fuzzing", "checks": CHECKS.split(","), "seconds": seconds,
                      "summary": summary_lines, "full_output": str(kept) if kept else None}, indent=2))
    raise SystemExit(0 if proc.returncode == 0 else 1)


if __name__ == "__main__":
    main()
