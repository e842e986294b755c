"""The selling app's commands (see ``assina.cli_support.CliBuilder``). No Django import at module level."""

from __future__ import annotations


def register(cli) -> None:
    return None
