"""The success app's commands (see ``assina.cli_support.CliBuilder``). No Django import at module level.

``assina success score [--json]``: every customer's health score now (what the daily job does), then
the customers at risk. ``assina success train``: backtest and record a churn model (in use only when
it beats the tenure-only baseline). ``assina success backtest``: the same backtest, nothing recorded.
``assina success at-risk``: the customers at risk and the MRR at risk, from the stored scores.
"""

from __future__ import annotations


def register(cli) -> None:
    group = cli.group("success", "customer health scores and churn risk")
    cli.add("score", "compute every customer's health score (and churn risk) now", group)
    cli.add("train", "train the churn model on the business's history; in use only if it beats the tenure-only "
                     "baseline", group)
    cli.add("backtest", "ROC AUC, top-decile lift and calibration of the churn model and of the tenure-only "
                        "baseline on later months than trained on (nothing recorded)", group)
    p = cli.add("at-risk", "the customers at risk, the MRR at risk and which ranking is in use", group)
    p.add_argument("--limit", type=int, default=20, help="rows (default 20)")

    @cli.command("success score", human=print_score)
    def cmd_score(args):
        from .report import overview
        from .services import score_all

        counts = score_all()
        return {"counts": counts, **overview(limit=20)}

    @cli.command("success train", human=print_backtest)
    def cmd_train(args):
        from .services import train

        record, report = train()
        return {"model_id": record.pk, **report}

    @cli.command("success backtest", human=print_backtest)
    def cmd_backtest(args):
        from assina.time import now

        from .churn import backtest
        from .history import load

        _ids, h = load()
        report, _params = backtest(h, now())
        return report

    @cli.command("success at-risk", human=print_overview)
    def cmd_at_risk(args):
        from .report import overview

        return overview(limit=max(1, min(args.limit, 1000)))


def _money(amounts: dict | None) -> str:
    from assina.core.money import Money

    return ", ".join(str(Money(a, c)) for c, a in (amounts or {}).items() if c) or "-"


def print_overview(o: dict) -> None:
    ranking = "churn model" if o["risk_from"] == "model" else "health rules (no churn model beats the tenure-only baseline)"
    print(f"Ranking: {ranking}   scores as of {o['as_of'] or '-'}")
    print("Bands: " + ", ".join(f"{k} {v}" for k, v in o["bands"].items()))
    print(f"At risk: {o['customers_at_risk']} customers, MRR at risk {_money(o['mrr_at_risk'])}"
          + (f", expected loss {_money(o['expected_mrr_loss'])}" if o.get("expected_mrr_loss") else ""))
    for r in o["at_risk"]:
        p = "-" if r["churn_probability"] is None else f"{r['churn_probability'] * 100:.0f}%"
        why = "; ".join(r["factors"] or r["reasons"])
        print(f"  {r['customer']:>7} {r['email'][:32]:<32} score {r['score']:>3} risk {p:>4}  {why}")


def print_score(o: dict) -> None:
    c = o["counts"]
    print(f"Scored {c['scored']} customers ({c['changed']} changed): healthy {c['healthy']}, watch {c['watch']}, "
          f"at risk {c['at_risk']}")
    print_overview(o)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def print_backtest(r: dict) -> None:
    tr, te = r["train"], r["test"]
    print(f"Training: {tr['from'] or '-'} .. {tr['to'] or '-'}: {tr['samples']} samples, {tr['churned']} churned")
    print(f"Test:     {te['from'] or '-'} .. {te['to'] or '-'}: {te['samples']} samples, {te['churned']} churned")
    if r.get("model") is None:
        print(r.get("note", ""))
    else:
        for name in ("model", "baseline"):
            m = r[name]
            print(f"{name:<9} ROC AUC {_fmt(m['roc_auc'])}  top-decile lift {_fmt(m['top_decile_lift'])}  "
                  f"Brier {_fmt(m['calibration']['brier'])}")
    print("In use: " + ("churn model" if r["in_use"] == "model" else "health rules"))
