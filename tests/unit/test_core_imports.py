import subprocess
import sys
from pathlib import Path

CORE_MODULES = sorted(
    f"assina.core.{p.stem}"
    for p in (Path(__file__).parents[2] / "src" / "assina" / "core").glob("*.py")
    if p.stem != "__init__"
)


def test_every_core_module_is_covered() -> None:
    expected = {
        f"assina.core.{name}"
        for name in ("errors", "money", "periods", "pricing", "discounts", "proration",
                     "invoicing", "states", "invoice_states")
    }  # fmt: skip
    assert expected <= set(CORE_MODULES)


def test_core_imports_no_django() -> None:
    # A fresh interpreter: this test process may already have Django loaded.
    code = (
        f"import assina.core, {', '.join(CORE_MODULES)}; import sys; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'babel')]; "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
