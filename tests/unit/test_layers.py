"""The layers of docs/architecture.md hold: import-linter checks the contracts of pyproject.toml
(``[tool.importlinter]``), counting imports inside functions, and a broken one fails the suite.
Each contract is also shown to fail on a copy of the code with a wrong import added, so a
contract whose module names stopped matching anything cannot pass unnoticed."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PYPROJECT = ROOT / "pyproject.toml"
# The venv's own lint-imports, next to this interpreter.
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# For each contract: imports that break it, written inside a function of an existing module (an
# import deferred into a function is an import all the same), and the line of import-linter's
# report that each must produce.
WRONG_IMPORTS: dict[str, list[tuple[str, str, str]]] = {
    "core-is-pure": [
        ("assina/core/money.py", "import django.db", "assina.core.money -> django (l."),
        ("assina/core/money.py", "import babel.numbers", "assina.core.money -> babel (l."),
        ("assina/core/periods.py", "from assina import time", "assina.core.periods -> assina.time (l."),
    ],
    "foundation-imports-no-app": [
        ("assina/time.py", "from assina.clock import models", "assina.time -> assina.clock.models (l."),
        ("assina/jobs.py", "import assina.subscriptions.models", "assina.jobs -> assina.subscriptions.models (l."),
        ("assina/dispatch.py", "from assina.payments import models", "assina.dispatch -> assina.payments.models (l."),
        ("assina/db.py", "from assina.invoices.models import Invoice", "assina.db -> assina.invoices.models (l."),
        ("assina/events/models.py", "from assina.catalog import models", "assina.events.models -> assina.catalog.models (l."),
    ],
    "billing-below-subscriptions": [
        ("assina/invoices/models.py", "from assina.subscriptions import models",
         "assina.invoices.models -> assina.subscriptions.models (l."),
        ("assina/payments/models.py", "import assina.subscriptions.models",
         "assina.payments.models -> assina.subscriptions.models (l."),
    ],
    "layers": [
        ("assina/core/invoicing.py", "from assina import db", "assina.core.invoicing -> assina.db (l."),
        ("assina/events/models.py", "from assina.catalog import models", "assina.events.models -> assina.catalog.models (l."),
        # catalog and customers are independent siblings.
        ("assina/catalog/models.py", "from assina.customers import models", "assina.catalog.models -> assina.customers.models (l."),
        ("assina/customers/models.py", "from assina.invoices import models", "assina.customers.models -> assina.invoices.models (l."),
        ("assina/invoices/models.py", "from assina.payments import models", "assina.invoices.models -> assina.payments.models (l."),
        ("assina/subscriptions/models.py", "from assina.usage import models", "assina.subscriptions.models -> assina.usage.models (l."),
        ("assina/usage/models.py", "from assina.notifications import models", "assina.usage.models -> assina.notifications.models (l."),
        ("assina/webhooks/models.py", "from assina.notifications import models", "assina.webhooks.models -> assina.notifications.models (l."),
        ("assina/notifications/models.py", "from assina.analytics import models", "assina.notifications.models -> assina.analytics.models (l."),
        ("assina/analytics/models.py", "from assina import scheduler", "assina.analytics.models -> assina.scheduler (l."),
    ],
    "entry-modules-are-entry-points": [
        # Even its own app's: an entry module may import any app, so reaching one is reaching up.
        ("assina/invoices/models.py", "from assina.invoices import admin", "assina.invoices.models -> assina.invoices.admin (l."),
        ("assina/usage/models.py", "from assina.customers import api", "assina.usage.models -> assina.customers.api (l."),
    ],
}


def lint_imports(source_root: Path, *contracts: str) -> subprocess.CompletedProcess:
    """Run import-linter on the ``assina`` package found under ``source_root``."""
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(PYPROJECT)]
    for contract in contracts:
        args += ["--contract", contract]
    # No cache: it would be written into the working tree, and a stale one could hide a change.
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run(args, cwd=source_root.parent, env=env, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept() -> None:
    result = lint_imports(ROOT / "src")
    assert result.returncode == 0, f"import-linter found broken contracts:\n{result.stdout}\n{result.stderr}"


def test_every_contract_is_shown_to_fail() -> None:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    assert sorted(contract["id"] for contract in contracts) == sorted(WRONG_IMPORTS)


@pytest.fixture(scope="module")
def source_with_wrong_imports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of src/assina's Python files with every import of WRONG_IMPORTS added."""
    source_root = tmp_path_factory.mktemp("src")
    src = ROOT / "src"
    for path in (src / "assina").rglob("*.py"):
        copy = source_root / path.relative_to(src)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    for n, (module, statement, _) in enumerate(w for wrong in WRONG_IMPORTS.values() for w in wrong):
        with open(source_root / module, "a") as file:
            file.write(f"\n\ndef _wrong_import_{n}():\n    {statement}\n")
    return source_root


@pytest.mark.parametrize("contract", sorted(WRONG_IMPORTS))
def test_contract_fails_on_a_wrong_import(contract: str, source_with_wrong_imports: Path) -> None:
    result = lint_imports(source_with_wrong_imports, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    missing = [line for _, _, line in WRONG_IMPORTS[contract] if line not in result.stdout]
    assert not missing, f"not reported: {missing}\n{result.stdout}"
