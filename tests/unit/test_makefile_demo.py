"""``make demo PORT=…``: the demo's mail links point at the port it serves on."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_assina_command_of_make_demo_gets_the_base_url_of_its_port():
    # -n: print the commands without running them.
    printed = subprocess.run(["make", "-n", "demo", "PORT=8101"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    commands = [line for line in printed.splitlines() if "bin/assina " in line]
    assert {c.split("bin/assina ")[1].split()[0] for c in commands} >= {"migrate", "simulate", "createadmin", "serve"}
    for command in commands:
        assert "ASSINA_BASE_URL=http://127.0.0.1:8101 " in command, command
    assert any("serve --port 8101" in c for c in commands)
