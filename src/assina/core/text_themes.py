"""Theme maths that needs no Django and no scikit-learn (issue 17): keyword phrases matched on
stemmed tokens, and the naming of a discovered theme. Standard library only.

A keyword phrase ("slow reply", "fecha sozinho") is stored as the tuple of its tokens' stems;
a comment raises the theme when the phrase occurs in its stemmed tokens in that order.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def fold(word: str) -> str:
    """Lower case without accents: "preço" and "preco" are one word (people type both)."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def contains_phrase(tokens: list[str], phrase: tuple[str, ...]) -> bool:
    if not phrase:
        return False
    if len(phrase) == 1:
        return phrase[0] in tokens
    first, n = phrase[0], len(phrase)
    return any(tokens[i:i + n] == list(phrase) for i, t in enumerate(tokens) if t == first)


def matching_themes(tokens: list[str], phrases: dict[str, list[tuple[str, ...]]]) -> list[str]:
    """The themes (keys of ``phrases``) whose any phrase occurs in ``tokens``."""
    present = set(tokens)
    found = []
    for theme, options in phrases.items():
        if any(p and p[0] in present and contains_phrase(tokens, p) for p in options):
            found.append(theme)
    return found


def adjusted_rand_index(labels_true: list, labels_pred: list) -> float:
    """The adjusted Rand index of two labellings (Hubert & Arabie), for the themes' test report."""
    from collections import Counter
    from math import comb

    n = len(labels_true)
    if n != len(labels_pred):
        raise ValueError("labellings differ in length")
    pairs = Counter(zip(labels_true, labels_pred))
    index = sum(comb(c, 2) for c in pairs.values())
    a = sum(comb(c, 2) for c in Counter(labels_true).values())
    b = sum(comb(c, 2) for c in Counter(labels_pred).values())
    total = comb(n, 2)
    expected = a * b / total if total else 0.0
    maximum = (a + b) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)
