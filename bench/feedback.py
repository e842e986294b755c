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
  cohort) over a period with partial months at both ends (counts table + the two partial months
  from the responses) and over whole months (counts table only), each the best of 3; the same
  report computed from the responses alone (``direct``, once, must be equal); the overall NPS
  alone (one GROUP BY over the responses). The counts are rebuilt once after the bulk load.
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


def peer(texts: list[tuple[str, int]]) -> float:
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    start = time.perf_counter()
    matrix = TfidfVectorizer(min_df=3, max_df=0.5).fit_transform([t for t, _s in texts])
    NMF(n_components=8, init="nndsvda", random_state=0, max_iter=300).fit_transform(matrix)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--no-themes", action="store_true", help="measure the report only")
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
    from assina.feedback.tallies import rebuild
    from assina.feedback.themes import refresh

    at = datetime(2027, 1, 1, tzinfo=timezone.utc)
    rng = random.Random(5)
    with transaction.atomic():
        Customer.objects.bulk_create([Customer(email=f"b{i}@example.com", name=f"B {i}", locale=rng.choice(["en", "pt-BR"]),
                                               currency="BRL", country=rng.choice(["BR", "US", "PT"]),
                                               created_at=at - timedelta(days=rng.randint(0, 700)))
                                      for i in range(args.customers)], batch_size=5000)
    people = list(Customer.objects.values_list("pk", "country", "locale", "created_at"))
    ids = [p[0] for p in people]
    plans = ["basic", "pro", "team", ""]
    texts = comments(args.comments)
    start = time.perf_counter()
    rows = []
    for i in range(args.responses):
        comment, score = texts[i] if i < len(texts) else ("", rng.randint(0, 10))
        survey = "nps" if i < len(texts) or i % 5 else "csat"
        if survey == "csat":
            score = rng.randint(1, 5)
        pk, country, locale, created = people[i % len(people)]
        rows.append(SurveyResponse(customer_id=pk, survey=survey, score=score, comment=comment,
                                   submitted_at=at - timedelta(minutes=i % 500_000), source="import",
                                   idempotency_key=f"bench:{i}", created_at=at, updated_at=at,
                                   plan_code=plans[pk % len(plans)], country=country, locale=locale,
                                   cohort=created.year * 100 + created.month))
        if len(rows) == 20_000:
            with transaction.atomic():
                SurveyResponse.objects.bulk_create(rows)
            rows = []
    if rows:
        with transaction.atomic():
            SurveyResponse.objects.bulk_create(rows)
    loaded = time.perf_counter() - start
    # Loaded around the services (bulk_create): the counts are built once, as `assina feedback
    # tallies --rebuild` does after such a load.
    start = time.perf_counter()
    count_rows = rebuild()
    rebuild_seconds = time.perf_counter() - start

    found, themes_seconds, peer_seconds = None, None, None
    if not args.no_themes:
        start = time.perf_counter()
        found = refresh(at)
        themes_seconds = round(time.perf_counter() - start, 2)
        peer_seconds = round(peer(texts), 2)

    since, until = at - timedelta(days=400), at + timedelta(days=1)
    report_seconds, report = best_of(lambda: feedback_report(since=since, until=until))
    # Twelve whole months (2026-02 to 2027-01): read from the counts alone.
    default_seconds, _default = best_of(lambda: feedback_report(since="2026-02", until="2027-01"))
    # A period whose first partial month holds responses (the report reads it from them).
    partial_seconds, _partial = best_of(lambda: feedback_report(since=at - timedelta(days=340), until=until))
    direct_seconds, direct = best_of(lambda: feedback_report(since=since, until=until, direct=True), repeat=1)
    assert direct == report, "the counts differ from the responses"
    from django.db.models import Count

    nps_seconds, _counts = best_of(lambda: list(
        SurveyResponse.objects.filter(submitted_at__gte=since, submitted_at__lt=until, survey="nps")
        .values("score").annotate(n=Count("id")).order_by()))
    print(json.dumps({
        "engine": connection.vendor, "comments": args.comments, "responses": args.responses,
        "load_seconds": round(loaded, 1),
        "themes_seconds": themes_seconds, "themes_target_seconds": 30, "themes": found,
        "peer_sklearn_tfidf_nmf_seconds": peer_seconds,
        "tally_rebuild_seconds": round(rebuild_seconds, 2), "tally_rows": count_rows,
        "report_seconds": round(report_seconds, 3), "report_whole_months_seconds": round(default_seconds, 3),
        "report_partial_month_with_data_seconds": round(partial_seconds, 3),
        "report_direct_from_responses_seconds": round(direct_seconds, 3),
        "overall_nps_seconds": round(nps_seconds, 3), "report_target_seconds": 1,
        "nps": report["overall"]["nps"]["nps"], "nps_responses": report["overall"]["nps"]["responses"],
    }, indent=1))


if __name__ == "__main__":
    main()
