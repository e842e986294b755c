"""Feedback at scale (issue 17): the themes of 100,000 comments and the NPS report over
1,000,000 responses, on a new SQLite file (or PostgreSQL with --database).

    .venv/bin/python bench/feedback.py                  # 100,000 comments, 1,000,000 responses
    .venv/bin/python bench/feedback.py --comments 20000 --responses 200000

- themes: ``assina.feedback.themes.refresh`` over every comment in the database (language
  detection, stemming, baseline keywords, TF-IDF + NMF discovery among the rest, writing the
  assignments); the peer is a plain scikit-learn TfidfVectorizer + NMF (8 components) over the
  same texts in the same run, which finds topics but no languages, no stems, no bilingual
  themes and writes nothing.
- report: ``assina.feedback.reports.feedback_report`` (overall, by month, plan, country, locale,
  cohort) and the overall NPS alone (one GROUP BY), each the best of 3.
Targets: themes <= 30 s, the NPS report <= 1 s. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "tests" / "integration")]


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def comments(n: int, seed: int = 11) -> list[tuple[str, int]]:
    """n comments from the test corpus's planted issues, varied (names, products, extra words)."""
    from test_feedback_themes import PLANTED

    rng = random.Random(seed)
    fillers = {"en": ["today", "again", "for our team", "since the update", "on Monday", "for weeks", "really"],
               "pt": ["hoje", "de novo", "para a equipe", "desde a atualização", "na segunda", "há semanas", "mesmo"]}
    labels = list(PLANTED)
    out = []
    for i in range(n):
        label = labels[i % len(labels)]
        language = "en" if rng.random() < 0.5 else "pt"
        text = rng.choice(PLANTED[label][language])
        if label != "vague":
            text = f"{text} {rng.choice(fillers[language])} #{rng.randint(1, 500)}"
        out.append((text, rng.choice(PLANTED[label]["scores"])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--database", help="postgres://… (recreated); default: a new SQLite file")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="assina-bench-feedback-")
    if args.database:
        from fresh_database import recreate_postgres

        os.environ["ASSINA_DATABASE_URL"] = recreate_postgres(args.database)
    else:
        os.environ["ASSINA_DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from assina.customers.models import Customer
    from assina.feedback.models import SurveyResponse
    from assina.feedback.reports import feedback_report
    from assina.feedback.themes import refresh

    at = datetime(2027, 1, 1, tzinfo=timezone.utc)
    rng = random.Random(5)
    with transaction.atomic():
        Customer.objects.bulk_create([Customer(email=f"b{i}@example.com", name=f"B {i}", locale=rng.choice(["en", "pt-BR"]),
                                               currency="BRL", country=rng.choice(["BR", "US", "PT"]),
                                               created_at=at - timedelta(days=rng.randint(0, 700)))
                                      for i in range(args.customers)], batch_size=5000)
    ids = list(Customer.objects.values_list("pk", flat=True))
    texts = comments(args.comments)
    start = time.perf_counter()
    rows = []
    for i in range(args.responses):
        comment, score = texts[i] if i < len(texts) else ("", rng.randint(0, 10))
        survey = "nps" if i < len(texts) or i % 5 else "csat"
        if survey == "csat":
            score = rng.randint(1, 5)
        rows.append(SurveyResponse(customer_id=ids[i % len(ids)], survey=survey, score=score, comment=comment,
                                   submitted_at=at - timedelta(minutes=i % 500_000), source="import",
                                   idempotency_key=f"bench:{i}", created_at=at, updated_at=at))
        if len(rows) == 20_000:
            with transaction.atomic():
                SurveyResponse.objects.bulk_create(rows)
            rows = []
    if rows:
        with transaction.atomic():
            SurveyResponse.objects.bulk_create(rows)
    loaded = time.perf_counter() - start

    start = time.perf_counter()
    found = refresh(at)
    themes_seconds = time.perf_counter() - start

    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    start = time.perf_counter()
    matrix = TfidfVectorizer(min_df=3, max_df=0.5).fit_transform([t for t, _s in texts])
    NMF(n_components=8, init="nndsvda", random_state=0, max_iter=300).fit_transform(matrix)
    peer_seconds = time.perf_counter() - start

    since, until = at - timedelta(days=400), at + timedelta(days=1)
    report_seconds, report = best_of(lambda: feedback_report(since=since, until=until))
    from django.db.models import Count

    nps_seconds, _counts = best_of(lambda: list(
        SurveyResponse.objects.filter(submitted_at__gte=since, submitted_at__lt=until, survey="nps")
        .values("score").annotate(n=Count("id")).order_by()))
    print(json.dumps({
        "engine": connection.vendor, "comments": args.comments, "responses": args.responses,
        "load_seconds": round(loaded, 1),
        "themes_seconds": round(themes_seconds, 2), "themes_target_seconds": 30, "themes": found,
        "peer_sklearn_tfidf_nmf_seconds": round(peer_seconds, 2),
        "report_seconds": round(report_seconds, 3), "overall_nps_seconds": round(nps_seconds, 3), "report_target_seconds": 1,
        "nps": report["overall"]["nps"]["nps"], "nps_responses": report["overall"]["nps"]["responses"],
    }, indent=1))


if __name__ == "__main__":
    main()
