"""``assina simulate`` as ``make demo`` runs it: the console script on a database file, so the
mail goes out from a second process started before Django is set up in it."""

from __future__ import annotations

from pathlib import Path

from conftest import Assina, ScratchDatabase


def test_simulate_from_the_console_script_sends_the_mail_from_a_second_process(tmp_path: Path):
    db = ScratchDatabase(tmp_path)
    try:
        cli = Assina(db, tmp_path)
        mail = tmp_path / "mail"
        env = {"ASSINA_SMTP_URL": f"file:{mail}"}
        assert cli.ok("migrate", env=env) == {"migrated": True}
        result = cli.run("simulate", "--customers", "8", "--months", "1", "--seed", "3", env=env)
        assert result.returncode == 0, str(result)
        assert "Traceback" not in result.stderr, str(result)
        assert list(mail.glob("*.eml")), "the simulated customers should have received mail"
    finally:
        db.drop()
