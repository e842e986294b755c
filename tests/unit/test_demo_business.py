"""The demo's business has a name of its own: `make demo` gives every command the simulated business's name."""

from __future__ import annotations

import subprocess
from pathlib import Path

from assina.simulation.business import NAME

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_names_the_simulated_business_not_assina():
    printed = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    commands = [line for line in printed.splitlines() if "bin/assina " in line]
    assert commands and NAME != "Assina"
    for command in commands:
        assert f"ASSINA_BUSINESS_NAME='{NAME}' " in command, command
