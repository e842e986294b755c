"""Pain points: every comment grouped into themes, ranked by who raises them (issue 17).

1. Language: English or Portuguese, from the share of each language's own stop words (fast,
   exact on most comments); lingua (restricted to the two) decides the rest.
2. Tokens: words without stop words, stemmed by Snowball in the comment's language, then
   folded (no accents: "preço" and "preco" are one word).
3. Baseline themes (shipped, owner-editable, keywords in each language): a comment raises a
   theme when one of its keyword phrases occurs. English and Portuguese keywords of a theme lead
   to the same theme, which is how one problem written in two languages is one theme.
4. Discovered themes, among the comments no baseline theme took: TF-IDF over the stems, NMF,
   each comment to its strongest component (above a floor). Named by their top words. These
   are not aligned across languages unless they share words (product names, "app", "pix"...);
   the owner merges them or adds the keywords to a theme.

Everything is local: the stop words, stemmers and lingua's models ship inside their wheels.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from functools import lru_cache

from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from assina.core.nps import category, rank_weight
from assina.core.text_themes import fold, matching_themes, words

from .models import Survey, SurveyResponse, Theme, ThemeAssignment

EN, PT = "en", "pt"
MAX_DISCOVERED = 8
MIN_FOR_DISCOVERY = 12  # below this many leftover comments, discovery finds noise
NMF_FLOOR = 0.05

# slug: (English name, Portuguese name, English keywords, Portuguese keywords)
BASELINE = {
    "price": ("Price", "Preço",
              ["price", "expensive", "pricing", "cost", "costly", "overpriced", "afford", "cheaper", "too much money"],
              ["preço", "caro", "cara", "custo", "mensalidade", "valor alto", "barato", "pesado no bolso"]),
    "support-speed": ("Support speed", "Rapidez do suporte",
                      ["slow support", "support", "reply", "replies", "response time", "waiting", "waited", "answer",
                       "help desk", "ticket"],
                      ["suporte", "atendimento", "demora", "demorou", "resposta", "responder", "respondem", "esperando",
                       "espera", "chamado"]),
    "onboarding": ("Onboarding", "Primeiros passos",
                   ["onboarding", "setup", "set up", "getting started", "get started", "first steps", "tutorial",
                    "configure", "configuration"],
                   ["onboarding", "configuração", "configurar", "começar", "primeiros passos", "tutorial",
                    "cadastro inicial", "implantação"]),
    "bugs": ("Bugs and reliability", "Erros e estabilidade",
             ["bug", "bugs", "crash", "crashes", "crashed", "error", "broken", "outage", "freezes", "unstable", "down"],
             ["erro", "erros", "bug", "trava", "travando", "travou", "fecha sozinho", "quebrado", "fora do ar",
              "instável", "falha"]),
    "missing-features": ("Missing features", "Funcionalidades que faltam",
                         ["missing feature", "feature", "features", "wish it had", "would like", "integration", "lacks"],
                         ["funcionalidade", "funcionalidades", "recurso", "recursos", "falta", "gostaria",
                          "integração"]),
    "complexity": ("Complexity", "Complexidade",
                   ["complicated", "complex", "hard to use", "confusing", "difficult", "cluttered"],
                   ["complicado", "complicada", "complexo", "difícil", "confuso", "confusa"]),
    "billing": ("Billing problems", "Problemas de cobrança",
                ["invoice", "charged twice", "charged", "billing", "refund", "double charge", "receipt"],
                ["cobrança", "cobrado", "cobraram", "fatura", "reembolso", "estorno", "boleto", "nota fiscal"]),
}


# --- words --------------------------------------------------------------------------------------

@lru_cache(maxsize=2)
def stop_words(language: str) -> frozenset[str]:
    from stop_words import get_stop_words

    return frozenset(get_stop_words("en" if language == EN else "pt"))


@lru_cache(maxsize=1)
def _only_words() -> tuple[frozenset, frozenset]:
    # Words that mark one language: stop words of one and not the other (short, frequent).
    en = frozenset(w for w in stop_words(EN) if len(w) <= 6) - stop_words(PT)
    pt = frozenset(stop_words(PT)) - stop_words(EN)
    return en, pt


@lru_cache(maxsize=1)
def _lingua():
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.PORTUGUESE).build()


def detect_languages(texts: list[str]) -> list[str]:
    en_only, pt_only = _only_words()
    result, unsure = [], []
    for i, text in enumerate(texts):
        tokens = words(text)
        en = sum(t in en_only for t in tokens)
        pt = sum(t in pt_only for t in tokens)
        if en != pt:
            result.append(EN if en > pt else PT)
        else:
            result.append("")
            unsure.append(i)
    if unsure:
        from lingua import Language

        found = _lingua().detect_languages_in_parallel_of([texts[i] for i in unsure])
        for i, language in zip(unsure, found):
            result[i] = PT if language == Language.PORTUGUESE else EN
    return result


@lru_cache(maxsize=2)
def _stemmer(language: str):
    import snowballstemmer

    return snowballstemmer.stemmer("english" if language == EN else "portuguese")


@lru_cache(maxsize=200_000)
def stem(word: str, language: str) -> str:
    return fold(_stemmer(language).stemWord(word))


def tokens(text: str, language: str) -> list[str]:
    """Stems of ``text``'s words (stop words kept out only for discovery: phrases need them)."""
    return [stem(w, language) for w in words(text)]


def content_tokens(text: str, language: str) -> list[str]:
    stops = stop_words(language)
    return [stem(w, language) for w in words(text) if w not in stops and len(w) > 2]


# --- baseline themes ----------------------------------------------------------------------------

def ensure_baseline(at: datetime) -> None:
    """The shipped themes, created once (the owner's edits are never overwritten)."""
    existing = set(Theme.objects.filter(slug__in=BASELINE).values_list("slug", flat=True))
    Theme.objects.bulk_create([Theme(slug=slug, name_en=en, name_pt_br=pt, keywords_en=ken, keywords_pt_br=kpt,
                                     kind=Theme.Kind.BASELINE, created_at=at)
                               for slug, (en, pt, ken, kpt) in BASELINE.items() if slug not in existing])


def _phrases(themes: list[Theme]) -> dict[str, dict[int, list[tuple[str, ...]]]]:
    """Per language, each theme's keyword phrases as stem tuples."""
    out: dict[str, dict[int, list[tuple[str, ...]]]] = {EN: {}, PT: {}}
    for theme in themes:
        for language, keywords in ((EN, theme.keywords_en), (PT, theme.keywords_pt_br)):
            out[language][theme.pk] = [tuple(tokens(k, language)) for k in keywords or [] if words(k)]
    return out


# --- refresh ------------------------------------------------------------------------------------

def has_unthemed() -> bool:
    return SurveyResponse.objects.filter(themed_at__isnull=True).exclude(comment="").exists()


def refresh(at: datetime) -> dict:
    """Find the themes of every comment again (baseline keywords, then discovery among the
    rest) and store them. Returns counts."""
    ensure_baseline(at)
    rows = list(SurveyResponse.objects.exclude(comment="").values_list("pk", "comment", "language"))
    ids = [r[0] for r in rows]
    texts = [r[1] for r in rows]
    unknown = [i for i, r in enumerate(rows) if not r[2]]
    languages = [r[2] for r in rows]
    if unknown:
        for i, language in zip(unknown, detect_languages([texts[i] for i in unknown])):
            languages[i] = language
    themes = list(Theme.objects.filter(active=True).exclude(kind=Theme.Kind.DISCOVERED))
    phrases = _phrases(themes)
    assigned: dict[int, list[int]] = {}
    leftover = []
    for i, (text, language) in enumerate(zip(texts, languages)):
        found = matching_themes(tokens(text, language), phrases[language])
        if found:
            assigned[ids[i]] = found
        else:
            leftover.append(i)
    discovered = discover([texts[i] for i in leftover], [languages[i] for i in leftover])
    with transaction.atomic():
        keep = {t.slug: t for t in Theme.objects.filter(kind=Theme.Kind.DISCOVERED)}
        wanted = {}
        for slug, name, members in discovered:
            theme = keep.get(slug) or Theme.objects.create(slug=slug, name_en=name, name_pt_br=name,
                                                           kind=Theme.Kind.DISCOVERED, created_at=at)
            wanted[slug] = theme
            for m in members:
                assigned.setdefault(ids[leftover[m]], []).append(theme.pk)
        # Discovered themes no comment raises any more go, unless the owner worked on them.
        (Theme.objects.filter(kind=Theme.Kind.DISCOVERED, assigned_to="", addressed_at__isnull=True)
         .exclude(slug__in=wanted).delete())
        ThemeAssignment.objects.all().delete()
        ThemeAssignment.objects.bulk_create([ThemeAssignment(response_id=r, theme_id=t)
                                             for r, found in assigned.items() for t in set(found)], batch_size=2000)
        changed = [SurveyResponse(pk=pk, language=language) for pk, language, old in
                   zip(ids, languages, (r[2] for r in rows)) if language != old]
        SurveyResponse.objects.bulk_update(changed, ["language"], batch_size=2000)
        SurveyResponse.objects.filter(themed_at__isnull=True).update(themed_at=at)
    return {"comments_themed": len(assigned), "themes_discovered": len(discovered)}


def discover(texts: list[str], languages: list[str]) -> list[tuple[str, str, list[int]]]:
    """Themes among comments no baseline theme took: [(slug, name, member indexes)]."""
    docs = [content_tokens(t, lang) for t, lang in zip(texts, languages)]
    usable = [i for i, d in enumerate(docs) if len(d) >= 2]
    if len(usable) < MIN_FOR_DISCOVERY:
        return []
    import numpy as np
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=lambda d: d, min_df=3, max_df=0.5, sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform([docs[i] for i in usable])
    except ValueError:  # no term left after min_df/max_df
        return []
    k = min(MAX_DISCOVERED, max(1, len(usable) // 25), matrix.shape[1])
    model = NMF(n_components=k, init="nndsvda", random_state=0, max_iter=300)
    weights = model.fit_transform(matrix)
    terms = vectorizer.get_feature_names_out()
    best = weights.argmax(axis=1)
    strength = weights.max(axis=1)
    # A readable word per stem: the most frequent surface form.
    surface: dict[str, Counter] = defaultdict(Counter)
    for i in usable:
        for w in words(texts[i]):
            surface[stem(w, languages[i])][w] += 1
    out = []
    for c in range(k):
        members = [usable[j] for j in np.flatnonzero((best == c) & (strength > NMF_FLOOR))]
        if len(members) < 3:
            continue
        top = [terms[t] for t in model.components_[c].argsort()[::-1][:3]]
        name = ", ".join(surface[t].most_common(1)[0][0] if surface[t] else t for t in top)
        out.append((f"d-{slugify('-'.join(top))[:55]}", name, members))
    return out


# --- ranking ------------------------------------------------------------------------------------

def ranked_themes(*, since: datetime | None = None, until: datetime | None = None, examples: int = 3,
                  language: str = "en", order: str = "impact") -> list[dict]:
    """Every theme raised in the window, with its customers, their NPS groups, their MRR and
    its trend by month; ranked by passives + detractors first (``order="impact"``, the
    default) or by how many customers raise it (``order="frequency"``)."""
    window = Q()
    if since is not None:
        window &= Q(response__submitted_at__gte=since)
    if until is not None:
        window &= Q(response__submitted_at__lt=until)
    rows = list(ThemeAssignment.objects.filter(window, theme__active=True)
                .values_list("theme_id", "response_id", "response__customer_id", "response__submitted_at"))
    if not rows:
        return []
    customers = {r[2] for r in rows}
    # Each customer's group: their latest NPS score (a customer is one voice, however many responses).
    latest: dict[int, int] = {}
    for customer_id, score in (SurveyResponse.objects.filter(customer_id__in=customers, survey=Survey.NPS, score__isnull=False)
                               .order_by("submitted_at", "id").values_list("customer_id", "score")):
        latest[customer_id] = score
    mrr = _mrr(customers, until)
    by_theme: dict[int, list] = defaultdict(list)
    for row in rows:
        by_theme[row[0]].append(row)
    themes = Theme.objects.in_bulk(list(by_theme))
    out = []
    for theme_id, members in by_theme.items():
        theme = themes[theme_id]
        who = {r[2] for r in members}
        groups = Counter(category(latest[c]) for c in who if c in latest)
        trend = Counter(r[3].strftime("%Y-%m") for r in members)
        response_ids = sorted({r[1] for r in members})
        out.append({
            "theme": theme.slug, "name": theme.name_pt_br if language.startswith("pt") and theme.name_pt_br else theme.name_en,
            "kind": theme.kind, "responses": len(response_ids), "customers": len(who),
            "detractors": groups["detractor"], "passives": groups["passive"], "promoters": groups["promoter"],
            "mrr": sum(mrr.get(c, 0) for c in who), "trend": dict(sorted(trend.items())),
            "assigned_to": theme.assigned_to, "addressed": theme.addressed_at is not None,
            "response_ids": response_ids, "customer_ids": sorted(who),
        })
    key = ((lambda t: rank_weight(t["detractors"], t["passives"], t["promoters"]) + (t["customers"],))
           if order == "impact" else (lambda t: (t["customers"], t["responses"])))
    out.sort(key=lambda t: (key(t), t["theme"]), reverse=True)
    texts = dict(SurveyResponse.objects.filter(pk__in={i for t in out for i in t["response_ids"][-examples:]})
                 .values_list("pk", "comment")) if examples else {}
    for rank, theme in enumerate(out, 1):
        theme["rank"] = rank
        theme["examples"] = [texts[i] for i in theme["response_ids"][-examples:] if i in texts] if examples else []
    return out


def _mrr(customer_ids: set[int], at: datetime | None) -> dict[int, int]:
    """Each customer's MRR now (minor units, as the segments compute it)."""
    from assina.customers.models import Customer
    from assina.notifications.segments import mrr_by_customer
    from assina.time import now

    return mrr_by_customer(Customer.objects.filter(pk__in=customer_ids), at or now())
