"""A customer's whole history in time order, newest first, a page at a time.

Sources: the event log (subscription changes, invoices, payments, refunds, cards, portal
visits, upgrades — with the types below left out because their own rows say more), the
e-mails (``notifications.Message``), survey answers with their comments and themes
(``feedback.SurveyResponse``), product events (``engagement.EngagementEvent``), notes and
tasks, cancel flows with the offer shown (``retention.CancelSession``) and playbook runs
(``playbook.*`` events).

Every source is read newest first from its own index, at most a page plus one per source, from
a cursor ``(time, source, id)``, all in one statement that keeps the newest ``limit`` keys of the
merge (``queries.timeline_keys``); only those rows are then loaded, and the next page starts
after the last one. So a page costs the same after five years of history as
after a week, and items sharing a moment (an invoice, its payment and its e-mail at the same
second) are never lost or shown twice across pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assina.analytics.event_words import label
from assina.core.nps import category
from assina.engagement.models import CustomerNote, EngagementEvent, Task
from assina.events.models import Event
from assina.feedback.models import Survey, SurveyResponse
from assina.notifications.models import Message
from assina.retention.models import CancelSession

from . import queries

PAGE = 50

# Event types shown from their own rows instead (a note's text, an answer's comment, a cancel
# flow's reason and offer, an e-mail's subject).
_SHOWN_ELSEWHERE = ("customer_note.", "task.", "survey_response.", "survey.sent", "cancel_flow.")

# kind -> (title, event type prefixes it takes from the event log)
KINDS = {
    "billing": (gettext_lazy("Invoices and payments"), ("invoice.", "payment.", "refund.", "credit_note.", "payment_method.")),
    "subscription": (gettext_lazy("Subscription changes"), ("subscription.", "upgrade.", "price_change.", "customer.")),
    "email": (gettext_lazy("E-mails"), ()),
    "feedback": (gettext_lazy("Surveys and comments"), ("survey.opted_out",)),
    "engagement": (gettext_lazy("Product use"), ()),
    "notes": (gettext_lazy("Notes and tasks"), ()),
    "cancel": (gettext_lazy("Cancel flows and offers"), ()),
    "portal": (gettext_lazy("Portal"), ("portal.",)),
    "playbooks": (gettext_lazy("Playbook runs"), ("playbook.",)),
}


@dataclass(frozen=True)
class Item:
    at: datetime
    rank: int  # the source, to order items of the same moment
    id: int
    kind: str
    title: str
    detail: str = ""
    url: str | None = None
    tone: str = ""  # "good", "bad" or ""

    @property
    def key(self) -> tuple:
        return (self.at, self.rank, self.id)


def _events(ids: list[int]) -> list[Item]:
    out = []
    for e in Event.objects.filter(pk__in=ids):
        found = next((k for k, (_t, prefixes) in KINDS.items() if prefixes and e.type.startswith(prefixes)), "other")
        out.append(Item(e.occurred_at, 0, e.pk, found, label(e.type), _event_detail(e), None, _tone(e.type)))
    return out


def _tone(event_type: str) -> str:
    if event_type.endswith(("failed", "dunning_exhausted", "canceled", "uncollectible", "voided", "cancel_scheduled")):
        return "bad"
    if event_type.endswith(("paid", "recovered", "succeeded", "reactivated", "resumed", "created")):
        return "good"
    return ""


def _money(amount, currency) -> str:
    from django.utils.translation import get_language

    from assina.notifications.context import money

    try:
        return money(int(amount), str(currency), get_language() or "en")
    except (TypeError, ValueError, KeyError):
        return ""


def _event_detail(e: Event) -> str:
    d = e.data or {}
    parts = []
    if d.get("number"):
        parts.append(str(d["number"]))
    for key in ("total", "amount", "amount_due"):
        if key in d and d.get("currency"):
            parts.append(_money(d[key], d["currency"]))
            break
    previous = d.get("previous")
    if isinstance(previous, dict) and d.get("plan"):
        parts.append(f"{previous.get('plan')} × {previous.get('quantity')} → {d.get('plan')} × {d.get('quantity')}")
    elif d.get("plan"):
        parts.append(str(d["plan"]))
    if d.get("coupon"):
        parts.append(str(d["coupon"]))
    if d.get("status") and d.get("previous_status"):
        parts.append(f"{_status(d['previous_status'])} → {_status(d['status'])}")
    elif e.type in ("subscription.canceled", "subscription.cancel_scheduled") and d.get("reason"):
        parts.append(str(d["reason"])[:200])  # the owner's or the customer's words
    for key in ("message", "decline_code"):
        if d.get(key):
            parts.append(str(d[key])[:200])
            break
    return " · ".join(p for p in parts if p)


def _status(code: str) -> str:
    from assina.subscriptions.models import STATUSES

    return str(dict(STATUSES).get(code, code))


def _messages(ids: list[int]) -> list[Item]:
    rows = Message.objects.filter(pk__in=ids).only("pk", "due_at", "subject", "status", "template")
    return [Item(m.due_at, 1, m.pk, "email", _("E-mail: %(subject)s") % {"subject": m.subject},
                 m.get_status_display(), None, "bad" if m.status in ("failed", "invalid") else "") for m in rows]


def _responses(ids: list[int]) -> list[Item]:
    rows = SurveyResponse.objects.filter(pk__in=ids).prefetch_related("theme_assignments__theme")
    return [response_item(r) for r in rows]


def response_item(r: SurveyResponse) -> Item:
    from django.utils.translation import get_language

    portuguese = (get_language() or "en").lower().startswith("pt")
    themes = [(a.theme.name_pt_br or a.theme.name_en) if portuguese else a.theme.name_en for a in r.theme_assignments.all()]
    title = r.get_survey_display() if r.score is None else f"{r.get_survey_display()}: {r.score}"
    if r.survey == Survey.NPS and r.score is not None:
        title += f" ({CATEGORY_WORDS[category(r.score)]})"
    detail = " · ".join(p for p in [f"“{r.comment}”" if r.comment else "", ", ".join(themes)] if p)
    tone = ""
    if r.score is not None:
        low = r.score <= 6 if r.survey == Survey.NPS else r.score <= 2
        high = r.score >= 9 if r.survey == Survey.NPS else r.score >= 4
        tone = "bad" if low else "good" if high else ""
    return Item(r.submitted_at, 2, r.pk, "feedback", str(title), detail, None, tone)


CATEGORY_WORDS = {"promoter": gettext_lazy("promoter"), "passive": gettext_lazy("passive"),
                  "detractor": gettext_lazy("detractor")}


def _engagement(ids: list[int]) -> list[Item]:
    rows = EngagementEvent.objects.filter(pk__in=ids).only("pk", "occurred_at", "name", "value", "imported")
    return [Item(e.occurred_at, 3, e.pk, "engagement", _("Used the product: %(name)s") % {"name": e.name},
                 " · ".join(p for p in [f"{e.value:g}" if e.value is not None else "", _("imported") if e.imported else ""] if p))
            for e in rows]


def _notes(ids: list[int]) -> list[Item]:
    rows = CustomerNote.objects.filter(pk__in=ids).select_related("author")
    return [Item(n.occurred_at, 4, n.pk, "notes", str(n.get_kind_display()),
                 n.body[:2000] + (f" — {n.author.get_username()}" if n.author else "")) for n in rows]


def _tasks(ids: list[int]) -> list[Item]:
    rows = Task.objects.filter(pk__in=ids)
    return [Item(t.created_at, 5, t.pk, "notes", _("Task: %(title)s") % {"title": t.title},
                 _("done") if t.done_at else _("open"), None, "good" if t.done_at else "") for t in rows]


def _cancel_sessions(ids: list[int]) -> list[Item]:
    rows = CancelSession.objects.filter(pk__in=ids)
    out = []
    for s in rows:
        parts = [s.get_reason_display() if s.reason else "", f"“{s.reason_text}”" if s.reason_text else "",
                 _("offer: %(offer)s") % {"offer": s.get_offer_kind_display()} if s.offer_kind else "",
                 str(s.get_outcome_display())]
        tone = {"canceled": "bad", "saved": "good"}.get(s.outcome, "")
        out.append(Item(s.started_at, 6, s.pk, "cancel", _("Cancel flow"), " · ".join(str(p) for p in parts if p), None, tone))
    return out


BUILDERS = {0: _events, 1: _messages, 2: _responses, 3: _engagement, 4: _notes, 5: _tasks, 6: _cancel_sessions}
# kind -> the sources it reads (0, the event log, through its type prefixes)
_SOURCES = {"email": (1,), "feedback": (0, 2), "engagement": (3,), "notes": (4, 5), "cancel": (6,)}


def page(customer_id: int, *, kind: str | None = None, cursor: tuple | None = None, limit: int = PAGE) -> tuple[list[Item], tuple | None]:
    """The newest ``limit`` items after ``cursor`` (None: from now), and the next page's cursor
    (None when nothing is left): which rows, in one statement (``queries.timeline_keys``), then
    the rows themselves, one query per source on the page."""
    kind = kind if kind in KINDS else None
    if kind is None:
        ranks, prefixes, exclude = tuple(BUILDERS), _SHOWN_ELSEWHERE, True
    else:
        ranks, prefixes, exclude = _SOURCES.get(kind, (0,)), KINDS[kind][1], False
    keys = queries.timeline_keys(customer_id, ranks, prefixes, exclude, cursor, limit + 1)
    shown = keys[:limit]
    wanted: dict[int, list[int]] = {}
    for _at, rank, pk in shown:
        wanted.setdefault(rank, []).append(pk)
    items = [item for rank, ids in wanted.items() for item in BUILDERS[rank](ids)]
    items.sort(key=lambda i: i.key, reverse=True)
    return items, (shown[-1] if len(keys) > limit else None)


def encode_cursor(cursor: tuple | None) -> str:
    if cursor is None:
        return ""
    at, rank, pk = cursor
    return f"{at.isoformat()}~{rank}~{pk}"


def decode_cursor(text: str | None) -> tuple | None:
    """A cursor from the page's query string; anything unreadable starts from the newest."""
    try:
        at, rank, pk = (text or "").split("~")
        moment = datetime.fromisoformat(at)
        if moment.utcoffset() is None:
            return None
        return moment, int(rank), int(pk)
    except ValueError:
        return None
