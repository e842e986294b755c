"""``assina forecast retention`` in a subprocess, as an operator runs it: Fader & Hardie's
"high end" cohort (2007, Table 1, years 0-7) gives the published α 0.668, β 3.806, and a bad
count is refused with exit 2."""

from __future__ import annotations

HIGH_END = "1000,869,743,653,593,551,517,491"


def test_assina_forecast_retention_prints_the_fit_and_refuses_bad_counts(assina):
    body = assina.ok("forecast", "retention", "--counts", HIGH_END, "--horizon", "12", "--discount-rate", "0.1")
    assert abs(body["alpha"] - 0.668) <= 0.005 * 0.668 and abs(body["beta"] - 3.806) <= 0.005 * 3.806
    assert len(body["survivors"]) == 13 and len(body["retention_rates"]) == 13 and len(body["derl"]) == 13
    assina.refused("forecast", "retention", "--counts", "1000,-3,2", words=("number 2", "'-3'"))
