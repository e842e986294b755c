"""Published data the forecasting tests fit, and where it comes from.

The CDNOW summary (2,357 customers who first bought in the first quarter of 1997, 39 weeks of
repeat purchases) is read from the ``lifetimes`` package (a test dependency) where it ships, not
copied into this repository. Its file is read without importing ``lifetimes`` (an archived
package), through the installed distribution's file list.
"""

from __future__ import annotations

import csv
from importlib.metadata import distribution

import numpy as np

# Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1),
# Table 1: customers of each segment still active at the start of years 1..13 (year 0 = 1000).
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


def cdnow_summary() -> dict[str, np.ndarray]:
    """frequency, recency, T (weeks) and monetary_value (the average repeat order, US$) per customer."""
    dist = distribution("lifetimes")
    path = next(f for f in dist.files if str(f).endswith("datasets/cdnow_customers_summary_with_transactions.csv"))
    with open(dist.locate_file(path), newline="") as handle:
        rows = list(csv.DictReader(handle))
    # ID, x (repeat purchases), t_x (recency), T, zbar (average repeat order value): the papers' names.
    names = {"frequency": "x", "recency": "t_x", "T": "T", "monetary_value": "zbar"}
    return {key: np.array([float(r[column]) for r in rows]) for key, column in names.items()}


def within(value: float, published: float, relative: float = 0.005) -> bool:
    return abs(value - published) <= relative * abs(published)
