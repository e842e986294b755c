"""The forecasting models' errors are translated: every template the core raises is listed in
``assina.core.forecasting.errors.MESSAGES``, and the analytics catalog marks each of them
(``assina.analytics.forecast_words``), so ``localized_message`` finds its Portuguese."""

import ast
from pathlib import Path

from assina.analytics import forecast_words
from assina.core.forecasting import errors

FORECASTING = Path(errors.__file__).parent


def test_the_analytics_catalog_marks_every_template():
    assert list(forecast_words.MESSAGES) == list(errors.MESSAGES)


def test_every_error_raised_uses_a_listed_template():
    raised = set()
    for path in FORECASTING.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ForecastError":
                assert node.args and isinstance(node.args[0], ast.Constant), f"{path.name}:{node.lineno}"
                raised.add(node.args[0].value)
    assert raised and raised <= set(errors.MESSAGES)
    assert set(errors.MESSAGES) <= raised  # none listed that nothing raises
