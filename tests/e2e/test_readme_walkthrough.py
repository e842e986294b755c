"""The README's walkthroughs run exactly as written.

The ```sh block under "## CLI walkthrough" and the one under "## API walkthrough" are read from
README.md and run by bash (with -e and pipefail, so any failing command fails the test) in a
temporary folder, as a reader runs them: `assina` and `python` from this venv on the PATH, no
ASSINA_* variable but the free ports the README lets the environment choose (ASSINA_PORT,
HOOKS_PORT). Each block starts with `export ASSINA_DATABASE_URL=sqlite:///…`, a new file in that
folder; on the PostgreSQL run that one line points at a new scratch database instead. What the
README promises is then checked: the CLI's proration on the next invoice, the API's preview with
a real net amount, and webhooks verified by the README's own receiver (which refuses a forgery).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import ON_POSTGRES, ScratchDatabase
from email_support import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
DATABASE_LINE = re.compile(r"^export ASSINA_DATABASE_URL=sqlite:///\S+", re.M)


def readme_block(heading: str) -> str:
    """The one ```sh block of the README section ``## heading``."""
    text = README.read_text(encoding="utf-8")
    assert f"\n## {heading}\n" in text, f"the README has no '## {heading}' section"
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)
    assert len(blocks) == 1, f"'## {heading}' should hold exactly one ```sh block, found {len(blocks)}"
    return blocks[0]


def reader_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_", "HOOKS_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


class Walk:
    """One README block run by bash in ``folder``; its background jobs are stopped by ``stop``."""

    def __init__(self, script: str, folder: Path, db: ScratchDatabase, env: dict[str, str]) -> None:
        assert len(DATABASE_LINE.findall(script)) == 1, "the block should set ASSINA_DATABASE_URL once, to a new file"
        if ON_POSTGRES:
            script = DATABASE_LINE.sub(f"export ASSINA_DATABASE_URL={db.url}", script)
        self.folder, self.db_url = folder, (db.url if ON_POSTGRES else None)
        # A session of its own: the block's background jobs (server, receiver) share its process group.
        self.proc = subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", script], cwd=folder, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def finish(self, timeout: float = 240) -> tuple[str, str]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            out, err = self.proc.communicate()
            pytest.fail(f"the walkthrough did not finish in {timeout} s\nstdout: {out[-3000:]}\nstderr: {err[-3000:]}")
        assert self.proc.returncode == 0, f"exit {self.proc.returncode}\nstdout: {out[-3000:]}\nstderr: {err[-3000:]}"
        assert "Traceback" not in err, err[-3000:]
        return out, err

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def assina_json(folder: Path, db_url: str, *args: str) -> dict:
    result = subprocess.run(["assina", "--json", *args], cwd=folder, env=reader_env(ASSINA_DATABASE_URL=db_url),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def scratch(tmp_path):
    db = ScratchDatabase(tmp_path)
    try:
        yield db
    finally:
        db.drop()


def test_the_readme_cli_walkthrough_runs_as_written(tmp_path, scratch):
    walk = Walk(readme_block("CLI walkthrough"), tmp_path, scratch, reader_env())
    try:
        walk.finish()
    finally:
        walk.stop()

    db_url = walk.db_url or f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    invoices = assina_json(tmp_path, db_url, "invoice", "list", "--customer", "ana@example.com")["invoices"]
    assert all(invoice["status"] == "paid" for invoice in invoices) and len(invoices) >= 6
    # The July invoice: 2 Team seats (the change at period end), and the immediate change to 3 seats
    # billed as its proration: Pro's unused time credited, Team x 3 charged for the rest of June.
    july = invoices[-1]
    assert july["period_start"].startswith("2030-07-01") and july["total"] == 9960, july
    base = [line for line in july["lines"] if line["kind"] == "subscription"]
    prorations = [line for line in july["lines"] if line["kind"] == "proration"]
    assert [(line["description"], line["quantity"]) for line in base] == [("Team", 2)], base
    assert any(line["amount"] < 0 and "Pro" in line["description"] for line in prorations), prorations
    assert any(line["amount"] > 0 and "Team" in line["description"] for line in prorations), prorations
    subscription = assina_json(tmp_path, db_url, "subscription", "show", "sub_1")
    assert subscription["plan"] == "team" and subscription["status"] == "active"
    assert subscription["cancel_at_period_end"] is False  # canceled, then reactivated
    assert len(list((tmp_path / "mail").glob("*.eml"))) >= 6  # receipts and the rest, as files


def test_the_readme_api_walkthrough_runs_as_written_and_its_receiver_verifies_webhooks(tmp_path, scratch):
    port, hooks_port = free_port(), free_port()
    walk = Walk(readme_block("API walkthrough"), tmp_path, scratch,
                reader_env(ASSINA_PORT=str(port), HOOKS_PORT=str(hooks_port)))
    try:
        out, _err = walk.finish()
        # The preview of 3 seats instead of 1 is a real proration: the unused seat credited, 3 charged.
        preview = next(json.loads(line) for line in out.splitlines() if '"object":"change_preview"' in line)
        assert preview["credit"] < 0 < preview["charge"] and preview["net_amount"] > 0, preview
        assert preview["net_amount"] == preview["charge"] + preview["credit"]
        verified = (tmp_path / "hooks.log").read_text().splitlines()
        for wanted in ("verified subscription.created sub_1", "verified invoice.paid in_1", "verified invoice.paid in_2"):
            assert wanted in verified, verified
        # The receiver is still up: a forged delivery is refused and never printed as verified.
        forged = {"type": "invoice.paid", "data": {"object_id": "in_999"}}
        headers = {"webhook-id": "evt_999", "webhook-timestamp": "1700000000", "webhook-signature": "v1,Zm9yZ2Vk"}
        try:
            answer = httpx.post(f"http://127.0.0.1:{hooks_port}/hooks", json=forged, headers=headers, timeout=10)
            assert answer.status_code != 204
        except httpx.HTTPError:
            pass  # the handler raised before answering: the connection closes without a response
        assert "in_999" not in (tmp_path / "hooks.log").read_text()
        assert "WebhookVerificationError" in (tmp_path / "receiver.log").read_text()
    finally:
        walk.stop()
