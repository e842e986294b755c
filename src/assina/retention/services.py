"""The cancel flow's steps (issue 16): start with a reason, accept or decline the offer, confirm
the cancellation, keep the subscription; and the job's step, abandon idle sessions.

Each step writes the session and its ``cancel_flow.*`` event in one transaction. Cancelling at
the period end runs inside that transaction (``subscriptions.services.cancel_at_period_end``
charges nothing). Applying an offer, or ending a paused subscription now, may charge, and a
charge must follow its own commit: those are applied first (their own transaction and events)
and the session records the result right after; if the process died in between, the
subscription's own events tell what happened and the session is later marked abandoned.

Times are the clock's (``assina.time``), like the subscription changes they lead to.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.states import LIVE, SubscriptionStatus as S
from assina.events.services import record
from assina.notifications.outbox import Draft, queue
from assina.subscriptions import services as subscriptions
from assina.subscriptions.models import Subscription
from assina.subscriptions.terms import current_mrr
from assina.time import now as clock_now

from . import offers, rules
from .models import REASON_CODES, CancelSession, OfferKind

IDLE = timedelta(hours=1)
TEXT_MAX = 2000
ACCEPTED_MESSAGE = "retention_offer_accepted"
Outcome = CancelSession.Outcome


class CancelFlowError(DomainError):
    pass


class NotFound(Exception):
    """Not this customer's subscription or session (a 404: whose it is stays unsaid)."""


def subscription_of(customer_id: int, sub_id: int) -> Subscription:
    sub = Subscription.objects.select_related("plan", "customer").filter(pk=sub_id, customer_id=customer_id).first()
    if sub is None:
        raise NotFound
    return sub


def session_of(customer_id: int, sub_id: int, session_id: int) -> CancelSession:
    session = (CancelSession.objects.select_related("subscription__plan", "customer", "offer")
               .filter(pk=session_id, customer_id=customer_id, subscription_id=sub_id).first())
    if session is None:
        raise NotFound
    return session


def can_cancel(sub: Subscription) -> bool:
    """Whether the flow can cancel it: live or paused, and not already set to end."""
    return (sub.status in LIVE or sub.status == S.PAUSED.value) and not sub.cancel_at_period_end


def ends_now(sub: Subscription) -> bool:
    """A paused subscription has no paid period left to keep: cancelling ends it now."""
    return sub.status == S.PAUSED.value


def _clean(text: str) -> str:
    return (text or "").strip()[:TEXT_MAX]


def _touch(session: CancelSession, at: datetime, fields: list[str]) -> None:
    session.updated_at = at
    session.save(update_fields=[*fields, "updated_at"])


def _lock(session_id: int) -> CancelSession:
    return CancelSession.objects.select_for_update(of=("self",)).select_related("subscription").get(pk=session_id)


def start(sub: Subscription, *, reason: str, reason_text: str, order: list[str], portal_session_id: int | None) -> CancelSession:
    """Steps 1 and 2: the session starts with the reason given, and the offer that fits is chosen
    (and shown, unless there is none): ``started``, ``reason_given``, ``offer_shown``."""
    if reason not in REASON_CODES or reason not in order:
        raise CancelFlowError(_("Please choose a reason."))
    at = clock_now()
    with transaction.atomic():
        sub = Subscription.objects.select_for_update(of=("self",)).get(pk=sub.pk)
        if not can_cancel(sub):
            raise CancelFlowError(_("This subscription cannot be cancelled here."))
        for stale in CancelSession.objects.select_for_update().filter(subscription=sub, outcome=Outcome.OPEN):
            _abandon(stale, at, "superseded")
        session = CancelSession.objects.create(
            customer_id=sub.customer_id, subscription=sub, portal_session_id=portal_session_id, started_at=at, updated_at=at,
            reason_order=list(order), mrr=current_mrr([sub], at)[sub.pk], currency=sub.currency)
        record("cancel_flow.started", session, at, {"subscription": sub.pk, "mrr": session.mrr, "currency": sub.currency})
        session.reason, session.reason_text = reason, _clean(reason_text)
        record("cancel_flow.reason_given", session, at, {"reason": reason, "position": order.index(reason) + 1,
                                                         "with_text": bool(session.reason_text)})
        offered = rules.offer_for(sub, reason, at)
        session.offer, session.variant, session.offer_kind, session.offer_terms = (
            offered.offer, offered.variant, offered.kind, offered.terms)
        if offered.shown:
            session.offer_shown_at = at
            record("cancel_flow.offer_shown", session, at, {"offer": offered.offer.pk, "variant": offered.variant,
                                                            "kind": offered.kind, "terms": offered.terms})
        session.save()
    return session


def _open_offer(session: CancelSession) -> None:
    if session.outcome != Outcome.OPEN or session.offer_shown_at is None or session.offer_accepted_at or session.offer_declined_at:
        raise CancelFlowError(_("This offer is no longer open."))


def acceptable(session: CancelSession) -> bool:
    """Whether the shown offer has something to accept (a "tell us more" without a discount has not)."""
    return session.offer_kind in (OfferKind.PAUSE, OfferKind.PLAN_CHANGE, OfferKind.DISCOUNT) or (
        session.offer_kind == OfferKind.FEEDBACK and bool(session.offer_terms.get("discount")))


def accept(session: CancelSession, *, feedback_text: str = "") -> CancelSession:
    """Step 3a: the customer takes the offer; it is applied at once and told by e-mail:
    ``offer_accepted`` and ``completed`` (outcome ``saved``)."""
    _open_offer(session)
    if not acceptable(session):
        raise CancelFlowError(_("This offer is no longer open."))
    at = clock_now()
    try:
        applied = offers.apply(session.subscription, session.offer_kind, session.offer_terms, at)
    except DomainError:
        session.refresh_from_db()
        if session.outcome == Outcome.SAVED:  # a second click on the same button: the first one applied it
            return session
        raise
    with transaction.atomic():
        session = _lock(session.pk)
        if session.outcome != Outcome.OPEN:
            return session
        session.offer_terms = {**session.offer_terms, **applied}
        session.feedback_text = _clean(feedback_text) or session.feedback_text
        session.offer_accepted_at = session.completed_at = at
        session.outcome = Outcome.SAVED
        _touch(session, at, ["offer_terms", "feedback_text", "offer_accepted_at", "completed_at", "outcome"])
        record("cancel_flow.offer_accepted", session, at, {"offer": session.offer_id, "variant": session.variant,
                                                           "kind": session.offer_kind, "terms": session.offer_terms})
        record("cancel_flow.completed", session, at, {"outcome": Outcome.SAVED.value, "reason": session.reason})
        _queue_accepted_message(session, at)
    return session


def _queue_accepted_message(session: CancelSession, at: datetime) -> None:
    from .wording import offer_message_vars

    sub = Subscription.objects.select_related("plan", "customer").prefetch_related("items__plan_version").get(pk=session.subscription_id)
    queue([Draft(key=f"{ACCEPTED_MESSAGE}:session:{session.pk}", template=ACCEPTED_MESSAGE, customer=sub.customer, due_at=at,
                 context=offer_message_vars(session, sub))], at)


def decline(session: CancelSession, *, feedback_text: str = "") -> CancelSession:
    """Step 3b: no thanks (the "tell us more" text, if any, is kept): ``offer_declined``."""
    at = clock_now()
    with transaction.atomic():
        session = _lock(session.pk)
        _open_offer(session)
        session.offer_declined_at = at
        session.feedback_text = _clean(feedback_text)
        _touch(session, at, ["offer_declined_at", "feedback_text"])
        record("cancel_flow.offer_declined", session, at, {"offer": session.offer_id, "variant": session.variant,
                                                           "kind": session.offer_kind,
                                                           "with_feedback": bool(session.feedback_text)})
    return session


def confirmable(session: CancelSession) -> bool:
    """The last step is open: no offer was shown, or it was declined."""
    return session.outcome == Outcome.OPEN and (session.offer_shown_at is None or session.offer_declined_at is not None)


def confirm(session: CancelSession) -> CancelSession:
    """Step 4: cancel. At the end of the paid period (access is kept until then, and the
    ``cancellation`` message carries the reactivate link); a paused subscription ends now.
    ``completed`` (outcome ``canceled``)."""
    if not confirmable(session):
        raise CancelFlowError(_("This step is no longer open."))
    at = clock_now()
    sub = session.subscription
    at_once = ends_now(sub)
    if at_once:
        try:
            sub = subscriptions.cancel_now(sub.pk, reason=session.reason)
        except DomainError:
            session.refresh_from_db()
            if session.outcome == Outcome.CANCELED:  # a second click: the first one ended it
                return session
            raise
    with transaction.atomic():
        session = _lock(session.pk)
        if not confirmable(session):
            return session
        if not at_once:
            sub = subscriptions.cancel_at_period_end(sub.pk, reason=session.reason)
        session.outcome, session.completed_at = Outcome.CANCELED, at
        _touch(session, at, ["outcome", "completed_at"])
        record("cancel_flow.completed", session, at, {
            "outcome": Outcome.CANCELED.value, "reason": session.reason,
            "ends_at": (sub.ended_at if sub.ended_at else sub.current_period_end).isoformat()})
    return session


def keep(session: CancelSession) -> CancelSession:
    """The customer keeps the subscription without taking an offer: ``abandoned``."""
    at = clock_now()
    with transaction.atomic():
        session = _lock(session.pk)
        if session.outcome == Outcome.OPEN:
            _abandon(session, at, "customer")
    return session


def _abandon(session: CancelSession, at: datetime, by: str) -> None:
    session.outcome, session.completed_at = Outcome.ABANDONED, at
    _touch(session, at, ["outcome", "completed_at"])
    record("cancel_flow.abandoned", session, at, {"by": by, "reason": session.reason})


def reactivate(sub: Subscription) -> Subscription:
    """Undo a cancellation at period end from the portal (the e-mail's link does the same)."""
    return subscriptions.reactivate(sub.pk)


# --- the job ------------------------------------------------------------------------------------

def idle_sessions(until: datetime):
    return CancelSession.objects.filter(outcome=Outcome.OPEN, updated_at__lte=until - IDLE)


def abandon_idle(until: datetime, *, at_due_time: bool) -> dict:
    """Sessions without a step for an hour are abandoned, at the hour's end (under the test
    clock) or at ``until`` (a worker catching up)."""
    count = 0
    while True:
        with transaction.atomic():
            batch = list(idle_sessions(until).select_for_update().order_by("updated_at", "pk")[:500])
            for session in batch:
                _abandon(session, session.updated_at + IDLE if at_due_time else until, "idle")
        count += len(batch)
        if len(batch) < 500:
            return {"abandoned": count}
