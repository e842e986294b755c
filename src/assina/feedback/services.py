"""The feedback app's use cases: record a response (API, import, e-mail click, portal,
cancellation), change its score or comment, opt out of surveys.

Every change and its event are written in one transaction. Responses brought in from outside
are unique by ``idempotency_key`` = hash(customer, survey, submitted_at, source): the same
response sent or imported again is found, not doubled, and changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timezone

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.nps import ScoreError, check_score
from assina.customers.models import Customer
from assina.events.services import record

from . import tallies
from .models import Survey, SurveyOptOut, SurveyRequest, SurveyResponse

MAX_COMMENT = 5000
MAX_TAGS = 20


class FeedbackError(DomainError):
    """Bad feedback input; the message is already in the user's language."""


def idempotency_key(customer_id: int, survey: str, submitted_at: datetime, source: str) -> str:
    text = f"{customer_id}|{survey}|{submitted_at.astimezone(timezone.utc).isoformat()}|{source}"
    return hashlib.sha256(text.encode()).hexdigest()


def _score_problem(survey: str, score: int | None) -> str:
    try:
        check_score(survey, score)
    except ScoreError:
        if survey == Survey.NOTE:
            return _("a note has no score")
        if survey not in (Survey.NPS, Survey.CSAT):
            return _("survey must be nps, csat or note, not %(value)r") % {"value": survey}
        low, high = (0, 10) if survey == Survey.NPS else (1, 5)
        return _("a %(survey)s score is a whole number from %(low)d to %(high)d") % {
            "survey": survey.upper(), "low": low, "high": high}
    return ""


def _clean_tags(tags) -> list[str]:
    tags = [str(t).strip()[:40] for t in (tags or []) if str(t).strip()]
    if len(tags) > MAX_TAGS:
        raise FeedbackError(_("at most %(count)d tags") % {"count": MAX_TAGS})
    return sorted(set(tags))


@dataclass
class Recorded:
    response: SurveyResponse
    created: bool


def record_response(*, customer: Customer, survey: str, score: int | None, comment: str, submitted_at: datetime,
                    source: str, tags=None, at: datetime, key: str = "") -> Recorded:
    """Store a response from outside (API, import, cancellation, support note); the same one
    again returns the stored response unchanged."""
    problem = _score_problem(survey, score)
    if problem:
        raise FeedbackError(problem)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise FeedbackError(_("a comment has at most %(count)d characters") % {"count": MAX_COMMENT})
    if survey == Survey.NOTE and not comment:
        raise FeedbackError(_("a note needs a comment"))
    key = key or idempotency_key(customer.pk, survey, submitted_at, source)
    existing = SurveyResponse.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return Recorded(existing, False)
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                customer=customer, survey=survey, score=score, comment=comment, submitted_at=submitted_at,
                source=source, tags=_clean_tags(tags), idempotency_key=key, created_at=at, updated_at=at,
                **tallies.snapshot(customer.pk))
            tallies.add(response, response.score, +1)
            record("survey_response.recorded", response, at, _data(response))
    except IntegrityError:  # a concurrent copy of the same response won
        return Recorded(SurveyResponse.objects.get(idempotency_key=key), False)
    return Recorded(response, True)


def _data(response: SurveyResponse) -> dict:
    return {"survey": response.survey, "score": response.score, "source": response.source}


# --- survey links (e-mail, portal) ---------------------------------------------------------------

def open_request(token: str, at: datetime) -> SurveyRequest | None:
    """The survey a link names, while it may still be answered."""
    found = SurveyRequest.objects.select_related("customer").filter(token=token).first()
    if found is None or found.expires_at < at or found.customer.erased_at is not None:
        return None
    return found


def answer(request: SurveyRequest, score: int, at: datetime, *, source: str = SurveyResponse.Source.EMAIL) -> SurveyResponse:
    """A person chose ``score`` for the survey ``request``: the first choice creates its
    response, a later one changes the score of that same response (one per request)."""
    problem = _score_problem(request.survey, score)
    if problem:
        raise FeedbackError(problem)
    with transaction.atomic():
        # Locks the request row (PostgreSQL), so two quick clicks are serialised; SQLite has one writer.
        SurveyRequest.objects.select_for_update().filter(pk=request.pk).first()
        response = SurveyResponse.objects.filter(request=request).first()
        if response is None:
            response = SurveyResponse.objects.create(
                customer_id=request.customer_id, survey=request.survey, score=score, submitted_at=at, source=source,
                request=request, idempotency_key=f"request:{request.pk}", created_at=at, updated_at=at,
                **tallies.snapshot(request.customer_id))
            tallies.add(response, response.score, +1)
            record("survey_response.recorded", response, at, _data(response))
        elif response.score != score:
            tallies.changed_score(response, response.score, score)
            response.score, response.updated_at = score, at
            response.save(update_fields=["score", "updated_at"])
            record("survey_response.updated", response, at, _data(response))
    return response


def comment_on(request: SurveyRequest, comment: str, at: datetime) -> SurveyResponse:
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise FeedbackError(_("a comment has at most %(count)d characters") % {"count": MAX_COMMENT})
    with transaction.atomic():
        response = SurveyResponse.objects.select_for_update().filter(request=request).first()
        if response is None:
            raise FeedbackError(_("choose a score first"))
        if response.comment != comment:
            response.comment, response.updated_at, response.themed_at = comment, at, None
            response.save(update_fields=["comment", "updated_at", "themed_at"])
            record("survey_response.updated", response, at, _data(response))
    return response


def opt_out(customer_id: int, at: datetime) -> bool:
    """No more surveys for this customer. True when this call opted them out."""
    with transaction.atomic():
        _row, created = SurveyOptOut.objects.get_or_create(customer_id=customer_id, defaults={"at": at})
        if created:
            record("survey.opted_out", Customer(pk=customer_id), at, {})
    return created


# --- CSV import ---------------------------------------------------------------------------------

COLUMNS = ("email", "survey", "score", "comment", "submitted_at")


@dataclass
class ImportResult:
    imported: int
    unchanged: int
    errors: list[dict]

    def as_dict(self) -> dict:
        return {"imported": self.imported, "unchanged": self.unchanged, "errors": self.errors}


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def import_csv(data: str, at: datetime) -> ImportResult:
    """Import responses (``email,survey,score,comment,submitted_at``). Every row is checked
    first; any bad row (reported with its line) means nothing is written. Rows already imported
    are left as they are."""
    reader = csv.DictReader(io.StringIO(data))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header and c != "comment"]
    if missing:
        return ImportResult(0, 0, [{"line": 1, "error": _("missing columns: %(columns)s") % {"columns": ", ".join(missing)}}])
    reader.fieldnames = header
    rows, errors = [], []
    for row in reader:
        line = reader.line_num
        email = (row.get("email") or "").strip().lower()
        survey = (row.get("survey") or "").strip().lower()
        score_text = (row.get("score") or "").strip()
        problems = []
        try:
            score = int(score_text) if score_text else None
        except ValueError:
            score, problems = None, [_("score %(value)r is not a whole number") % {"value": score_text}]
        if not problems:
            problem = _score_problem(survey, score)
            if problem:
                problems.append(problem)
        try:
            submitted_at = _parse_time(row.get("submitted_at") or "")
        except ValueError:
            submitted_at = None
            problems.append(_("submitted_at %(value)r is not a date or time (2027-06-01T10:00:00Z)")
                            % {"value": row.get("submitted_at") or ""})
        comment = (row.get("comment") or "").strip()
        if len(comment) > MAX_COMMENT:
            problems.append(_("a comment has at most %(count)d characters") % {"count": MAX_COMMENT})
        rows.append((line, email, survey, score, comment, submitted_at))
        errors.extend({"line": line, "error": p} for p in problems)
    customers = {c.email.lower(): c for c in Customer.objects.filter(email__in=[r[1] for r in rows], erased_at__isnull=True)}
    for line, email, *_rest in rows:
        if email not in customers:
            errors.append({"line": line, "error": _("no customer with e-mail %(email)r") % {"email": email}})
    if errors:
        return ImportResult(0, 0, sorted(errors, key=lambda e: e["line"]))
    imported = unchanged = 0
    with transaction.atomic():
        for line, email, survey, score, comment, submitted_at in rows:
            result = record_response(customer=customers[email], survey=survey, score=score, comment=comment,
                                     submitted_at=submitted_at, source=SurveyResponse.Source.IMPORT, at=at)
            imported += result.created
            unchanged += not result.created
    return ImportResult(imported, unchanged, [])


# --- themes (the owner's actions) ------------------------------------------------------------------

def mark_addressed(theme_ids: list[int]) -> int:
    from assina.time import now

    from .models import Theme

    return Theme.objects.filter(pk__in=theme_ids, addressed_at__isnull=True).update(addressed_at=now())


def merge_themes(into_id: int, other_ids: list[int]) -> None:
    """One theme from several: the others' keywords join ``into``'s and the others are turned
    off (kept, so a merge can be undone by hand); the comments are themed again at the next run."""
    from .models import Theme

    with transaction.atomic():
        into = Theme.objects.select_for_update().get(pk=into_id)
        for other in Theme.objects.filter(pk__in=other_ids).exclude(pk=into_id):
            into.keywords_en = sorted(set(into.keywords_en or []) | set(other.keywords_en or []))
            into.keywords_pt_br = sorted(set(into.keywords_pt_br or []) | set(other.keywords_pt_br or []))
            if other.kind == Theme.Kind.DISCOVERED:
                # A discovered theme has no keywords: its top words (its name) become keywords,
                # so its comments follow it at every later run.
                words = [w.strip() for w in other.name_en.split(",") if w.strip()]
                into.keywords_en = sorted(set(into.keywords_en) | set(words))
                into.keywords_pt_br = sorted(set(into.keywords_pt_br) | set(words))
            other.active = False
            other.save(update_fields=["active"])
        into.save(update_fields=["keywords_en", "keywords_pt_br"])
        SurveyResponse.objects.update(themed_at=None)


def split_theme(theme_id: int, *, name_en: str, name_pt_br: str, keywords_en: list[str], keywords_pt_br: list[str],
                at: datetime):
    """A new theme from part of another: the chosen keywords move from ``theme`` to a new theme
    (the owner's, named by them) and the comments that use them follow at the next run, while the
    rest stay. A discovered theme has no keywords: its top words (its name) are the ones to choose
    from, and the new theme takes the comments that use the chosen ones."""
    from django.utils.text import slugify

    from .models import Theme

    name_en, name_pt_br = (name_en or "").strip(), (name_pt_br or "").strip()
    if not name_en:
        raise FeedbackError(_("give the new theme a name"))
    with transaction.atomic():
        theme = Theme.objects.select_for_update().filter(pk=theme_id).first()
        if theme is None:
            raise FeedbackError(_("no such theme"))
        own_en, own_pt = split_choices(theme)
        chosen_en = [k for k in own_en if k in set(keywords_en or [])]
        chosen_pt = [k for k in own_pt if k in set(keywords_pt_br or [])]
        if not chosen_en and not chosen_pt:
            raise FeedbackError(_("choose at least one keyword to move to the new theme"))
        if theme.kind != Theme.Kind.DISCOVERED and len(chosen_en) + len(chosen_pt) == len(own_en) + len(own_pt):
            raise FeedbackError(_("leave at least one keyword in %(name)s (to rename a theme, edit its name)")
                                % {"name": theme.name_en})
        if theme.kind == Theme.Kind.DISCOVERED:  # its top words may be either language's (as in a merge)
            chosen_pt = sorted(set(chosen_pt) | set(chosen_en))
        base = slugify(name_en)[:50] or "theme"
        slug, n = base, 1
        while Theme.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        new = Theme.objects.create(slug=slug, name_en=name_en, name_pt_br=name_pt_br, keywords_en=chosen_en,
                                   keywords_pt_br=chosen_pt, kind=Theme.Kind.CUSTOM, assigned_to=theme.assigned_to,
                                   created_at=at)
        if theme.kind != Theme.Kind.DISCOVERED:
            theme.keywords_en = [k for k in own_en if k not in chosen_en]
            theme.keywords_pt_br = [k for k in own_pt if k not in chosen_pt]
            theme.save(update_fields=["keywords_en", "keywords_pt_br"])
        SurveyResponse.objects.update(themed_at=None)
    return new


def split_choices(theme) -> tuple[list[str], list[str]]:
    """The keywords (English, Portuguese) a theme can give to a new one."""
    from .models import Theme

    if theme.kind == Theme.Kind.DISCOVERED:
        words = [w.strip() for w in theme.name_en.split(",") if w.strip()]
        return words, []
    return list(theme.keywords_en or []), list(theme.keywords_pt_br or [])
