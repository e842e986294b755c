"""Crash safety, small: the fault benchmark at a small scale. The worker (the test clock's
``assina clock advance``) is killed with SIGKILL at random moments and restarted while it bills
subscriptions with failing cards; ``assina check`` then finds no violation: nothing charged or
billed twice, no period skipped, numbers gapless, charges = paid invoices, every failure followed."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ON_POSTGRES

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fault_billing.py"


def test_sigkilled_worker_restarts_without_breaking_any_money_invariant(tmp_path):
    # A kill lands only while a run is still going: ten weekly runs and delays of at most 1 s
    # leave room for the five kills even when each run is quick (5 weeks and 1.5 s had left room
    # for only 3 once the clock's runs got faster).
    args = [sys.executable, str(BENCH), "--subscriptions", "40", "--failing-share", "0.3", "--kills", "5",
            "--weeks", "10", "--max-delay", "1.0", "--seed", "3"]
    if ON_POSTGRES:
        base = os.environ["ASSINA_DATABASE_URL"].rsplit("/", 1)[0]
        args += ["--database", f"{base}/assina_pay_fault_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    result = json.loads(done.stdout)
    assert result["kills_survived"] == 5 and result["worker_runs"] > 5
    assert result["violations"] == 0 and result["check_exit_code"] == 0, result["details"]
    assert result["failed_attempts"] > 0 and result["invoices"] > 40
