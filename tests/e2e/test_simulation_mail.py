"""The simulation sends its mail from a second process while the clock moves (``followers``): the
messages must be exactly those a single process sends, each dated when it fell due, all sent.

Runs in subprocesses on scratch databases of their own: the second process must see what the
first commits, which a test's transaction or an in-memory database would hide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ON_POSTGRES, ScratchDatabase

SIMULATE = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
django.setup()
from datetime import UTC, datetime
from django.core.management import call_command
from assina.notifications.models import Message
from assina.simulation.runner import simulate

if __name__ == "__main__":
    call_command("migrate", verbosity=0)
    simulate(customers=15, months=2, seed=5, end=datetime(2027, 3, 1, tzinfo=UTC), parallel_mail={parallel})
    rows = Message.objects.order_by("key").values_list("key", "template", "to_email", "subject", "status", "due_at", "sent_at")
    print(json.dumps([[str(v) for v in row] for row in rows]))
"""


def _messages(tmp_path: Path, parallel: bool) -> list[list[str]]:
    folder = tmp_path / ("parallel" if parallel else "single")
    folder.mkdir()
    db = ScratchDatabase(folder)
    try:
        script = folder / "simulate.py"
        script.write_text(SIMULATE.replace("{parallel}", str(parallel)))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_"))}
        env.update(ASSINA_DATABASE_URL=db.url, ASSINA_MODE="sandbox", ASSINA_SMTP_URL=f"file:{folder / 'mail'}")
        proc = subprocess.run([sys.executable, str(script)], env=env, cwd=folder, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        messages = json.loads(proc.stdout.strip().splitlines()[-1])
        assert len(list((folder / "mail").glob("*.eml"))) == len(messages)
        return messages
    finally:
        db.drop()


def test_mail_sent_by_a_second_process_is_the_mail_one_process_sends(tmp_path):
    single = _messages(tmp_path, parallel=False)
    parallel = _messages(tmp_path, parallel=True)
    assert len(single) > 30, "the simulated business should send its customers plenty of mail"
    assert {row[4] for row in parallel} == {"sent"}
    assert parallel == single, "engine: " + ("postgresql" if ON_POSTGRES else "sqlite")
