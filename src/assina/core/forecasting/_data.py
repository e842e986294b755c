"""Checking the per-customer columns the purchase models read."""

from __future__ import annotations

import numpy as np

from .errors import ForecastError


def column(values, what: str, *, whole: bool = False) -> np.ndarray:
    """``values`` as float64, refused when not numbers, negative or (``whole``) fractional."""
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ForecastError("%(what)s must be a number, not %(value)s", what=what, value=_first_bad(values)) from None
    bad = ~np.isfinite(out)
    if bad.any():
        raise ForecastError("%(what)s must be a number, not %(value)s", what=what,
                            value=repr(str(np.asarray(values).reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]])))
    if np.any(out < 0):
        raise ForecastError("%(what)s cannot be negative", what=what)
    if whole and np.any(out != np.round(out)):
        raise ForecastError("%(what)s must be a whole number", what=what)
    return out.reshape(-1)


def _first_bad(values) -> str:
    for v in values:
        try:
            float(v)
        except (TypeError, ValueError):
            return repr(str(v))
    return "?"


def same_length(*columns: np.ndarray) -> None:
    if len({len(c) for c in columns}) != 1:
        raise ForecastError("the columns frequency, recency, T and monetary_value must have the same length")
    if not len(columns[0]):
        raise ForecastError("there are no customers in the data")
