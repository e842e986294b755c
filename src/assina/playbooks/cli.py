"""The playbooks app's commands (see ``assina.cli_support.CliBuilder``). No Django import at module level.

- ``assina playbooks run``: check every active playbook now and run it for the customers it fires for.
- ``assina playbooks report``: each playbook's runs and the share of those customers still subscribed
  30 and 90 days later, against customers who met the trigger before the playbook existed.
"""

from __future__ import annotations


def register(cli) -> None:
    group = cli.group("playbooks", "act when a customer's health, risk, activity, feedback or payments say so")
    cli.add("run", "check every active playbook now and run its actions for the customers it fires for", group)
    cli.add("report", "runs per playbook and who is still subscribed 30 and 90 days later, against a comparison group",
            group)

    @cli.command("playbooks run")
    def cmd_run(args):
        from assina.time import now

        from .services import run_playbooks

        return run_playbooks(now())

    @cli.command("playbooks report")
    def cmd_report(args):
        from assina.time import now

        from .outcomes import report_all

        return report_all(now())
