"""``assina forecast``'s work: fit the lifetime value models to numbers an operator brings
(a cohort's survivor counts, a purchase summary from another system) and shape the answer.

No database is read: these fit what they are given.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.forecasting import bgnbd, clv, gamma_gamma, sbg

REQUIRED = ("customer_id", "frequency", "recency", "T")
MAX_ROWS = 5_000_000


def _round(value: float, digits: int = 6) -> float | None:
    value = float(value)
    return None if not math.isfinite(value) else round(value, digits)


def parse_counts(text: str) -> list[int]:
    """'1000,631,468' -> [1000, 631, 468]; a clear error for anything else."""
    counts = []
    for position, part in enumerate(text.split(","), 1):
        part = part.strip()
        if not part.isdigit():
            raise DomainError(_("--counts: number %(position)s, %(value)s, is not a whole number of customers")
                              % {"position": position, "value": repr(part[:40])})
        counts.append(int(part))
    return counts


def retention(counts: list[int], horizon: int, discount_rate: float) -> dict:
    """sBG fitted to one cohort's survivors, its projection to ``horizon`` periods and DERL."""
    fit = sbg.fit(counts)
    projected = sbg.project(fit, counts[0], horizon)
    renewals = np.arange(horizon + 1)
    derl = fit.derl(renewals, discount_rate)
    return {
        "alpha": _round(fit.alpha), "beta": _round(fit.beta), "log_likelihood": _round(fit.log_likelihood, 4),
        "standard_errors": {k: (None if v is None else _round(v)) for k, v in zip(("alpha", "beta"), fit.standard_errors)},
        "converged": fit.converged, "periods_observed": len(counts) - 1, "observed": counts,
        "horizon": horizon, "discount_rate": discount_rate,
        "survivors": [_round(v, 2) for v in projected["survivors"]],
        "retention_rates": [None if v is None else _round(v) for v in projected["retention_rates"]],
        # DERL[n]: what a customer who has renewed n times is still worth, in periods of payment.
        "derl": [_round(v) for v in derl],
        "del": _round(sbg.discounted_expected_lifetime(fit.alpha, fit.beta, discount_rate)),
        "half_life": [None if np.isnan(v) else int(v) for v in sbg.half_life(fit.alpha, fit.beta, renewals)],
    }


def read_summary(path: str) -> dict[str, np.ndarray | list[str] | None]:
    """The CSV's columns: customer_id, frequency, recency, T and, optionally, monetary_value."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DomainError(_("cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror or str(exc)}) from None
    with handle:
        try:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise DomainError(_("%(path)s has no column %(columns)s (it needs customer_id,frequency,recency,T and "
                                    "optionally monetary_value)") % {"path": path, "columns": ", ".join(missing)})
            reader.fieldnames = header
            has_money = "monetary_value" in header
            ids, columns = [], {c: [] for c in (*REQUIRED[1:], "monetary_value")}
            for line, row in enumerate(reader, 2):
                if len(ids) >= MAX_ROWS:
                    raise DomainError(_("%(path)s has more than %(maximum)s customers") % {"path": path, "maximum": f"{MAX_ROWS:,}"})
                ids.append((row.get("customer_id") or "").strip())
                for name in columns:
                    if name == "monetary_value" and not has_money:
                        continue
                    text = (row.get(name) or "").strip()
                    try:
                        value = float(text)
                    except ValueError:
                        value = math.nan
                    if not math.isfinite(value):
                        raise DomainError(_("%(path)s, line %(line)s: %(column)s is not a number: %(value)s")
                                          % {"path": path, "line": line, "column": name, "value": repr(text[:40])})
                    columns[name].append(value)
        except UnicodeDecodeError:
            raise DomainError(_("%(path)s is not UTF-8 text") % {"path": path}) from None
        except csv.Error as exc:
            raise DomainError(_("%(path)s is not a CSV file: %(reason)s") % {"path": path, "reason": str(exc)}) from None
    return {"customer_id": ids, **{k: np.asarray(v, dtype=np.float64) for k, v in columns.items() if k != "monetary_value"},
            "monetary_value": np.asarray(columns["monetary_value"], dtype=np.float64) if has_money else None}


def purchases(path: str, horizon: int, discount_rate: float, period: float = 1.0, out: str | None = None) -> dict:
    """BG/NBD (and Gamma-Gamma with monetary values) fitted to a purchase summary; per customer the
    expected purchases in the next ``horizon`` periods, the probability alive and the CLV."""
    data = read_summary(path)
    x, t_x, T, money = data["frequency"], data["recency"], data["T"], data["monetary_value"]
    clv.check_horizon(horizon, discount_rate)
    bgnbd.check(x, t_x, T)
    if money is not None:  # every column checked before anything is fitted
        gamma_gamma.check(x, money)
    model = bgnbd.fit(x, t_x, T)
    result: dict = {"bgnbd": {k: (_round(v, 6) if isinstance(v, float) else v) for k, v in model.as_dict().items()},
                    "horizon": horizon, "period": period, "discount_rate": discount_rate}
    result["bgnbd"]["log_likelihood"] = _round(model.log_likelihood, 4)
    expected = model.expected_purchases(horizon * period, x, t_x, T)
    alive = model.probability_alive(x, t_x, T)
    rows = {"customer_id": data["customer_id"], "expected_purchases": expected, "probability_alive": alive}
    if money is not None:
        values = gamma_gamma.fit(x, money)
        result["gamma_gamma"] = {k: (_round(v, 6) if isinstance(v, float) else v) for k, v in values.as_dict().items()}
        rows["expected_order_value"] = values.expected_order_value(x, money)
        rows["clv"] = clv.customer_lifetime_value(model, values, x, t_x, T, money, horizon=horizon,
                                                  discount_rate=discount_rate, period=period)
    keys = list(rows)
    if out:
        try:
            with open(out, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(keys)
                columns = [rows[k] if k == "customer_id" else np.round(rows[k], 6) for k in keys]
                writer.writerows(zip(*columns))
        except OSError as exc:
            raise DomainError(_("cannot write %(path)s: %(reason)s") % {"path": out, "reason": exc.strerror or str(exc)}) from None
        result["out"] = str(Path(out))
        result["customers"] = len(data["customer_id"])
    else:
        result["customers"] = [{k: (rows[k][i] if k == "customer_id" else _round(rows[k][i])) for k in keys}
                               for i in range(len(data["customer_id"]))]
    return result
