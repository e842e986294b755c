"""The success app's jobs: every customer's health score once a day, and the churn model retrained
every ``HealthSettings.retrain_days`` (7 by default). Registered from ``SuccessConfig.ready()``."""

from __future__ import annotations

from datetime import datetime


def run_scores(until: datetime, *, at_due_time: bool) -> dict:
    from .services import score_all, scores_due

    if not scores_due(until):
        return {}
    counts = score_all(until)
    return {f"health_{k}": v for k, v in counts.items() if isinstance(v, int) and v}


def run_training(until: datetime, *, at_due_time: bool) -> dict:
    from .services import train, train_due

    if not train_due(until):
        return {}
    record, report = train(until)
    return {"churn_models_trained": 1, "churn_model_in_use": int(report["in_use"] == "model")}


def register() -> None:
    from assina.jobs import register_job

    from .services import scores_due, train_due

    # Training first, so the day's scores use the newest model; both after billing (order < 850).
    register_job("churn_model_training", run_training, has_work=train_due, order=700)
    register_job("health_scores", run_scores, has_work=scores_due, order=710)
