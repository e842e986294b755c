"""The work the clock makes due: renewals, trial ends, scheduled changes, period-end
cancellations, resumes and expiring incomplete subscriptions.

Both the worker (real time) and the sandbox test clock (``assina clock advance``) call
``process_due_work``. Subscriptions are taken in batches, earliest due first; each batch is
one transaction that claims its rows (``SKIP LOCKED`` on PostgreSQL, so several workers share
the work), issues every invoice of the batch with a few bulk statements and writes the
pending payment attempts; the charges happen after the commit. Renewals are the hot path:
they are read and written as plain rows, never one query per subscription.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction

from assina.time import now as clock_now
from assina.catalog.models import Plan, PlanVersion
from assina.core.credit import credit_on_issue
from assina.core.invoicing import DraftLine, SubscriptionTerms, draft_for_period, skipped_lines
from assina.core.periods import Interval, Period, period_starting_at
from assina.core.schedule import next_action_time
from assina.core.states import LIVE, SubscriptionStatus, transition
from assina.customers.models import Customer
from assina.db import Many, fetch_values, update_rows
from assina.invoices.models import Invoice, PendingItem
from assina.invoices.services import InvoiceDraft, carried_line, issue_invoices
from assina.payments.models import PaymentMethod
from assina.payments.services import PendingCharge, collect, reconcile_pending, start_attempts
from .metered import metered_lines

from .catch_up import catch_up_limit, hold, too_far_behind
from .changes import apply_scheduled_change, owners_change
from . import store
from .models import ScheduledChange, SkippedDelivery, Subscription
from .queries import DUE_FIELDS, DueRow, customers_with_cards, due_rows, item_rows
from .services import end_at_period_end, expire_incomplete, resume_locked
from .terms import TermsLoader

S = SubscriptionStatus
# Subscriptions claimed per transaction. Measured on the shared machine: 3,000 spent about 5 %
# less CPU per renewal than 1,000 on SQLite, but 2,000 made PostgreSQL slower (20.6 s against
# 16.6 s for 20,000 renewals), so 1,000 stays.
BATCH_SIZE = 1000


class MethodRef(NamedTuple):
    """What charging needs of a payment method."""

    pk: int
    gateway: str
    token: str


def process_due_work(until: datetime | None = None, *, batch_size: int | None = None, at_due_time: bool = True) -> dict:
    """Process everything due up to ``until`` (default: now), in time order. Returns counts.

    With ``at_due_time`` each piece of work happens at the moment it fell due (the test clock);
    otherwise at the current time (a worker catching up after downtime). Catch-up is bounded
    (``catch_up``): a subscription with more periods due than the limit is held, not billed.
    """
    until = until or clock_now()
    batch_size = batch_size or BATCH_SIZE
    limit = catch_up_limit(at_due_time)
    summary: Counter = Counter()
    summary["reconciled_attempts"] += reconcile_pending(None if at_due_time else until)
    stuck_guard: tuple | None = None
    # SQLite has one writer at a time (transactions begin IMMEDIATE): the batch can read its due
    # rows inside its own transaction in one query. PostgreSQL workers run side by side: the
    # due rows are listed first and then claimed with SKIP LOCKED, so a worker that finds the
    # head of the queue claimed by another stops instead of billing later dates first.
    one_writer = connection.vendor == "sqlite"
    while True:
        done_before = sum(summary.values())
        due = None
        if not one_writer:
            due = tuple(fetch_values(
                Subscription.objects.filter(next_action_at__lte=until).order_by("next_action_at", "id")[:batch_size],
                ("id", "next_action_at"),
            ))
            if not due:
                break
        charges, claimed, settled = _claim_and_process(None if due is None else [i for i, _ in due], until,
                                                       None if at_due_time else until, summary, batch_size, limit)
        collect(charges)
        if not claimed:
            # Nothing due, or every due row is locked by other workers (SKIP LOCKED): they own this work.
            break
        if settled and len(claimed) < batch_size and (due is None or len(claimed) == len(due)):
            # The batch held every due row and left none due again by ``until``: asking once
            # more would find nothing (a pass of the test clock usually renews a few rows).
            break
        if sum(summary.values()) != done_before:
            stuck_guard = None
        elif claimed == stuck_guard:
            # The same rows were due twice and neither pass did anything: a bug, not an endless loop.
            raise RuntimeError(f"due work made no progress on subscriptions {[i for i, _ in claimed][:10]}")
        else:
            stuck_guard = claimed
    return dict(summary)


def _process_batch(ids: list[int], until: datetime, fixed_at: datetime | None,
                   summary: Counter, catch_up: int | None = None) -> tuple[list[PendingCharge], int]:
    """Claim the subscriptions ``ids`` that are still due and process them (one transaction);
    ``catch_up``: the most periods a subscription may be behind (None: no limit)."""
    charges, claimed, _ = _claim_and_process(ids, until, fixed_at, summary, len(ids), catch_up)
    return charges, len(claimed)


def bill_all_due(sub_id: int, at: datetime) -> list[PendingCharge]:
    """Bill every period of subscription ``sub_id`` due by ``at``, with no catch-up limit, each
    issued at ``at`` (an operator's release of a held subscription, ``release``). Runs in the
    caller's transaction, which holds the row; returns the charges to collect after the commit."""
    summary: Counter = Counter()
    charges: list[PendingCharge] = []
    last = None
    while True:
        batch, claimed = _process_batch([sub_id], at, at, summary, None)
        charges += batch
        due = Subscription.objects.filter(pk=sub_id).values_list("next_action_at", flat=True).first()
        if not claimed or due is None or due > at or due == last:
            return charges
        last = due


def _claim_and_process(ids: list[int] | None, until: datetime, fixed_at: datetime | None, summary: Counter,
                       limit: int, catch_up: int | None = None
                       ) -> tuple[list[PendingCharge], tuple[tuple[int, datetime], ...], bool]:
    """One transaction: claim the rows (``ids``, or the first ``limit`` due), then work through
    them in time order. Returns the pending charges, the (id, due time) of the claimed rows,
    and whether every claimed row was renewed to a next action after ``until`` (then nothing
    the batch touched is due again). A renewal with more than ``catch_up`` periods due by
    ``until`` is held instead (``catch_up.hold``; None: no limit).

    The batch stops before any row due later than the earliest next action it has just
    created (a weekly renewal billed now may be due again before a monthly one further down
    the list), so invoices are issued — and numbered — in the order their dates say.
    """
    charges: list[PendingCharge] = []
    # Per row (SQLite): whether it has pending changes, its next period is already billed, it
    # has carried-over items. None: not known, asked with one query per batch for each.
    flags: dict[int, tuple] | None = None
    settled = True
    with transaction.atomic():
        if ids is None:
            # One writer (SQLite): nothing changes between this read and the batch's writes,
            # so what the batch needs to know of other tables is read along with the rows.
            rows, flags = due_rows(until, limit)
        else:
            # Lock order (PostgreSQL): the customers of the listed subscriptions first, in id
            # order, and only then the subscriptions, claimed without waiting (SKIP LOCKED).
            # A transaction that holds a customer and then waits for one of its subscriptions
            # (a retry paid by credit reactivating it) then never waits in a circle with a
            # batch: a batch never holds a subscription while it waits for a customer.
            _lock_customers(Customer.objects.filter(pk__in=Subscription.objects.filter(pk__in_list=Many(ids))
                                                    .values("customer_id")))
            rows = sorted(
                (DueRow(*row) for row in fetch_values(
                    Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(pk__in_list=Many(ids), next_action_at__lte=until).order_by("pk"), DUE_FIELDS)),
                key=lambda r: (r.next_action_at, r.pk),
            )
        changes: dict[int, list[ScheduledChange]] = defaultdict(list)
        changing = [r.pk for r in rows] if flags is None else [pk for pk, (changed, _, _) in flags.items() if changed]
        if changing:
            for change in ScheduledChange.objects.filter(subscription_id__in_list=Many(changing), status=ScheduledChange.Status.PENDING).order_by("effective_at", "pk"):
                changes[change.subscription_id].append(change)
        changes = dict(changes)
        tz = settings.TIME_ZONE
        # Subscriptions sharing an anchor, interval and period end share their next period.
        periods: dict[tuple, tuple[int, Period]] = {}
        horizon: datetime | None = None
        renewals: list[tuple[DueRow, int, Period, datetime]] = []
        for row in rows:
            if horizon is not None and row.next_action_at > horizon:
                settled = False
                break
            pending = changes.get(row.pk, ())
            due_change = next((c for c in pending if c.effective_at <= row.next_action_at), None)
            if row.status in LIVE and not row.cancel_at_period_end and due_change is None \
                    and row.current_period_end <= row.next_action_at:
                key = (row.billing_anchor, row.interval, row.interval_count, row.current_period_end)
                found = periods.get(key)
                if found is None:
                    found = periods[key] = period_starting_at(row.billing_anchor, Interval(row.interval),
                                                              row.interval_count, row.current_period_end, tz)
                index, period = found
                behind = too_far_behind(row.billing_anchor, row.interval, row.interval_count, index, period.end,
                                        until, catch_up) if catch_up is not None else None
                if behind is not None:
                    # Too many periods at once: nothing billed, held for the operator.
                    charges += _renew(renewals, fixed_at, summary, flags)
                    renewals = []
                    hold(row.pk, fixed_at or row.next_action_at, behind, catch_up)
                    summary["held_for_catch_up"] += 1
                    continue
                # The rule of core.schedule, from the changes the batch has already read (a
                # renewal keeps a status whose next action is the period end: trialing -> active).
                following = next_action_time(row.status, period.end, None, None,
                                             _first_change_after(pending, period.start) if pending else None)
                renewals.append((row, index, period, following))
            else:
                # Issue the renewals before this row first, so numbers keep following dates.
                charges += _renew(renewals, fixed_at, summary, flags)
                renewals = []
                charges += _handle_one(row, due_change, fixed_at, summary)
                following = Subscription.objects.filter(pk=row.pk).values_list("next_action_at", flat=True).first()
                settled = False  # the rare cases may touch more than their own row
            if following is not None:
                horizon = following if horizon is None else min(horizon, following)
                if following <= until:
                    settled = False
        charges += _renew(renewals, fixed_at, summary, flags)
    return charges, tuple((r.pk, r.next_action_at) for r in rows), settled


def _lock_customers(customers) -> list[tuple]:
    """Lock ``customers`` in id order; returns (pk, credit_balance, default_payment_method_id, locale).

    FOR NO KEY UPDATE, not FOR UPDATE: it keeps two spenders of a customer's credit apart, and
    unlike FOR UPDATE it does not block the FOREIGN KEY checks (FOR KEY SHARE) that other
    transactions make at commit on rows pointing at these customers (a retry's, an email's).
    A batch holding FOR UPDATE on a customer while waiting for the invoice numbers, against a
    transaction waiting at commit for that customer, was a deadlock on PostgreSQL.
    """
    return fetch_values(customers.select_for_update(no_key=True).order_by("pk"),
                        ("pk", "credit_balance", "default_payment_method_id", "locale"))


def _handle_one(row: DueRow, due_change: ScheduledChange | None, fixed_at: datetime | None, summary: Counter) -> list[PendingCharge]:
    """The rare cases, one subscription at a time (the row is already locked)."""
    sub = Subscription.objects.select_related("customer__default_payment_method", "plan", "payment_method").get(pk=row.pk)
    at = fixed_at or sub.next_action_at
    if sub.status == S.PAUSED.value:
        summary["resumed"] += 1
        return resume_locked(sub, at)
    if sub.status == S.INCOMPLETE.value:
        expire_incomplete(sub, at)
        summary["expired_incomplete"] += 1
    elif sub.cancel_at_period_end and sub.current_period_end <= sub.next_action_at:
        # The final usage invoice's attempts are charged after this batch commits, like renewals.
        charges = end_at_period_end(sub, sub.current_period_end if fixed_at is None else at)
        summary["canceled_at_period_end"] += 1
        return charges
    elif due_change is not None:
        apply_scheduled_change(sub, due_change, at)  # writes the subscription with its next action time
        summary["scheduled_changes"] += 1
    else:
        store.save(sub, [])
    return []


def _first_change_after(pending: list[ScheduledChange], start: datetime) -> datetime | None:
    """The first pending change after ``start`` (those due by then were applied before the renewal)."""
    return min((c.effective_at for c in pending if c.effective_at > start), default=None)


def skipped_period_lines(terms: SubscriptionTerms, index: int, period: Period) -> tuple[DraftLine, ...] | None:
    """A skipped delivery's lines for period ``index`` (one at 0), or None when the renewing terms
    ship nothing. Shared by the billing run, ``next_renewals`` and the portal's preview, so that a
    skip counts exactly as the renewal bills it:
    after a switch to a service plan, or the owner turning shipping off, the period is billed
    in full."""
    if terms.shipping is None:
        return None
    base = terms.items[0]
    return skipped_lines(draft_for_period(terms, index, period), base.code, base.description)


def _renew(batch: list[tuple[DueRow, int, Period, datetime]], fixed_at: datetime | None, summary: Counter,
           flags: dict[int, tuple] | None = None) -> list[PendingCharge]:
    """Bill period ``index`` of every subscription in ``batch`` (in order) with bulk statements,
    and write each one's next action time (``following``, computed when the row was classified).

    ``flags`` (row id -> (changes, billed, carried items), read with the rows) spares the
    queries whose answer is known to be empty."""
    if not batch:
        return []
    rows = [row for row, _, _, _ in batch]
    loader = TermsLoader()
    loader.load(rows)
    ids = [r.pk for r in rows]
    if flags is None:
        earliest = min(r.current_period_end for r in rows)
        billed = set(fetch_values(Invoice.objects.filter(subscription_id__in_list=Many(ids), period_start__gte=earliest),
                                  ("subscription_id", "period_start")))
        with_items = ids
    else:
        # The flag asks for an invoice starting at the end of the current period: the start of
        # the period each row bills (``period_starting_at`` starts it exactly there).
        billed = {(r.pk, r.current_period_end) for r in rows if flags[r.pk][1]}
        with_items = [pk for pk in ids if flags[pk][2]]
    carried: dict[int, list[PendingItem]] = defaultdict(list)
    if with_items:
        for item in PendingItem.objects.filter(subscription_id__in_list=Many(with_items), invoice__isnull=True).order_by("pk"):
            carried[item.subscription_id].append(item)
    # Locked: two workers billing one customer must not both spend its credit. On PostgreSQL
    # the batch already holds these locks (taken before its claim); read again, as a rare case
    # handled earlier in the batch may have changed a balance. Their default cards come along.
    customers: dict[int, tuple] = {}
    methods_by_id: dict[int, MethodRef] = {}
    for pk, balance, method, locale, gateway, token in customers_with_cards({r.customer_id for r in rows}):
        customers[pk] = (balance, method, locale)
        if method is not None:
            methods_by_id[method] = MethodRef(method, gateway, token)
    balances = {pk: balance for pk, (balance, _, _) in customers.items() if balance > 0}
    method_ids = {r.pk: r.payment_method_id or customers[r.customer_id][1] for r in rows}
    # A subscription's own card (rare) is read apart.
    own = {m for m in method_ids.values() if m and m not in methods_by_id}
    if own:
        methods_by_id.update((pk, MethodRef(pk, gateway, token)) for pk, gateway, token in fetch_values(
            PaymentMethod.objects.filter(pk__in_list=Many(own)), ("pk", "gateway", "token")))

    # Deliveries skipped by the customers (plans that ship goods): those periods are not billed.
    skipped = set(fetch_values(SkippedDelivery.objects.filter(
        subscription_id__in_list=Many(ids), period_start__gte=min(r.current_period_end for r in rows)),
        ("subscription_id", "period_start")))
    # Metered usage of the period that is closing (billed in arrears on this renewal's invoice).
    metered = metered_lines([(row.pk, row.current_period_start, row.current_period_end) for row in rows])
    # Subscriptions with the same terms billing the same period get the same lines: computed
    # once (the lines are immutable values; the terms are rebuilt per batch, so nothing stale).
    drafted: dict[tuple, tuple[DraftLine, ...]] = {}
    cycle = Invoice.Reason.SUBSCRIPTION_CYCLE
    trialing = S.TRIALING.value
    drafts: list[InvoiceDraft] = []
    events: list[tuple] = []
    dropped: list[int] = []  # skips of plans that no longer ship goods
    updates: list[tuple] = []
    status_updates: list[tuple] = []
    for row, index, period, following in batch:
        at = fixed_at or row.current_period_end
        start = period.start
        if (row.pk, start) not in billed:
            key = (loader.terms_key(row), index, start, period.end)
            lines = drafted.get(key)
            if lines is None:
                lines = drafted[key] = draft_for_period(loader.terms(row), index, period).lines
            items = carried.get(row.pk, ())
            if skipped and (row.pk, start) in skipped:
                skipped_period = skipped_period_lines(loader.terms(row), index, period)
                if skipped_period is not None:
                    lines = skipped_period
                else:
                    # The skip is withdrawn: it no longer counts against the year's skips.
                    dropped.append(row.pk)
                    events.append(("subscription.delivery_unskipped", at, row.customer_id, "subscription", row.pk,
                                   {"period_start": start.isoformat(), "reason": "plan_ships_nothing"}))
            if row.pk in metered or items:
                lines = [*lines, *metered.get(row.pk, ()), *(carried_line(i) for i in items)]
            # else: the shared tuple itself (issuing sums and writes a shared tuple's lines once)
            drafts.append(InvoiceDraft(customer_id=row.customer_id, subscription_id=row.pk, currency=row.currency,
                                       billing_reason=cycle, at=at, lines=lines,
                                       period_start=start, period_end=period.end,
                                       pending_item_ids=[i.pk for i in items], locale=customers[row.customer_id][2]))
        if row.status == trialing:
            status = transition(S.TRIALING, S.ACTIVE).value
            events.append(("subscription.updated", at, row.customer_id, "subscription", row.pk,
                           {"status": status, "previous_status": trialing, "reason": "trial_ended"}))
            summary["trials_ended"] += 1
            status_updates.append((status, start, period.end, following, row.pk))
        else:
            updates.append((start, period.end, following, row.pk))
    # Every open invoice gets its first attempt below: written with attempt_count 1 at once.
    # The trial ends' events go with the invoices' (one INSERT; same order as before).
    invoices = issue_invoices(drafts, balances, as_rows=True, first_attempt=True, more_events=events)
    if dropped:
        SkippedDelivery.objects.filter(subscription_id__in_list=Many(dropped),
                                       period_start__gte=min(r.current_period_end for r in rows)).delete()
    # Most renewals keep their status: leaving it out of the UPDATE spares its index.
    update_rows(Subscription, ["current_period_start", "current_period_end", "next_action_at"], updates)
    update_rows(Subscription, ["status", "current_period_start", "current_period_end", "next_action_at"], status_updates)
    summary["renewals"] += len(invoices)
    methods = {r.customer_id: methods_by_id.get(method_ids[r.pk]) for r in rows}
    return start_attempts(invoices, methods, counted=True)


class NextRenewal(NamedTuple):
    """What a subscription's next renewal will bill (minor units), drafted as ``_renew`` drafts it."""

    total: int  # the invoice's total
    credit: int  # taken from the customer's credit balance
    amount_due: int  # what the card is charged
    skipped: bool  # a skipped delivery: nothing of the period ships
    plan_name: str  # the plan it bills, when a change scheduled for the renewal moves to another one ("" if not)


def next_renewals(sub_ids: list[int]) -> dict[int, NextRenewal]:
    """The invoice each subscription's renewal at its current period's end will issue (what a
    renewal reminder quotes): a change scheduled for that moment first (a price migration's new
    price or plan, a switch of plan), then the period's items, discount and shipping, a skipped
    delivery while the renewing terms ship goods (``skipped_period_lines``, as the billing run), the
    items carried to it, and the customer's credit balance (shared in renewal order). The
    closing period's metered usage is not known yet and is left out. Reads only: a fixed
    number of queries, plus a few per scheduled change."""
    if not sub_ids:
        return {}
    rows = [DueRow(*row) for row in fetch_values(
        Subscription.objects.filter(pk__in_list=Many(sub_ids)).order_by("current_period_end", "pk"), DUE_FIELDS)]
    loader = TermsLoader()
    loader.load(rows)
    ends = {r.pk: r.current_period_end for r in rows}
    by_id = {r.pk: r for r in rows}
    plan_names: dict[int, str] = {}
    changed: dict[int, DueRow] = {}
    for change in ScheduledChange.objects.filter(subscription_id__in_list=Many(list(ends)),
                                                 status=ScheduledChange.Status.PENDING).order_by("pk"):
        row = by_id[change.subscription_id]
        if change.effective_at == row.current_period_end:
            found = after_scheduled_change(loader, row, change)
            if found is not None:
                changed[row.pk], plan_names[row.pk] = found
    rows = [changed.get(r.pk, r) for r in rows]
    skips = {sub_id for sub_id, start in fetch_values(
        SkippedDelivery.objects.filter(subscription_id__in_list=Many(list(ends))), ("subscription_id", "period_start"))
        if ends[sub_id] == start}
    carried: dict[int, list[DraftLine]] = defaultdict(list)
    for item in PendingItem.objects.filter(subscription_id__in_list=Many(list(ends)), invoice__isnull=True).order_by("pk"):
        carried[item.subscription_id].append(carried_line(item))
    balances = dict(fetch_values(Customer.objects.filter(pk__in={r.customer_id for r in rows}),
                                 ("pk", "credit_balance")))
    result = {}
    for row in rows:
        terms = loader.terms(row)
        index, period = period_starting_at(row.billing_anchor, Interval(row.interval), row.interval_count,
                                           row.current_period_end, settings.TIME_ZONE)
        skipped = skipped_period_lines(terms, index, period) if row.pk in skips else None
        lines = [*(skipped if skipped is not None else draft_for_period(terms, index, period).lines),
                 *carried.get(row.pk, ())]
        total = sum(line.amount for line in lines)
        credit, due, taken = credit_on_issue(total, max(balances.get(row.customer_id, 0), 0))
        balances[row.customer_id] = balances.get(row.customer_id, 0) - taken
        result[row.pk] = NextRenewal(total, credit, due, skipped is not None, plan_names.get(row.pk, ""))
    return result


def after_scheduled_change(loader: TermsLoader, row: DueRow, change: ScheduledChange) -> tuple[DueRow, str] | None:
    """How the renewal reads ``change`` (scheduled for ``row``'s period end), shared by
    ``next_renewals`` and the portal's preview so both bill what the renewal will: ``row`` as
    ``changes.apply_scheduled_change`` will leave it (its base item's plan
    version and quantity in ``loader``; a new interval starts its own cycle), and the name of
    the plan it then bills; None when the change will not apply (the plan is retired)."""
    plan = Plan.objects.filter(code=change.change.get("plan")).first()
    items = [(version, quantity) for _sub, version, quantity in item_rows([row.pk])]
    bases = dict(PlanVersion.objects.filter(pk__in=[v for v, _q in items], plan__kind=Plan.Kind.BASE)
                 .values_list("pk", "plan_id"))
    at = next((i for i, (version, _q) in enumerate(items) if version in bases), None)
    if plan is None or at is None:
        return None
    version, quantity = items[at]
    same_plan = bases[version] == plan.pk
    if not same_plan and not plan.active:
        return None
    pinned = change.change.get("plan_version")
    target = pinned or (version if same_plan else plan.current_version().pk)
    # The owner's change is a price: it renews with the quantity of the day (``apply_scheduled_change``).
    items[at] = (target, quantity if owners_change(change.change) else int(change.change.get("quantity", quantity)))
    loader.known_items(row.pk, items)
    if (plan.interval, plan.interval_count) != (row.interval, row.interval_count):
        row = row._replace(interval=plan.interval, interval_count=plan.interval_count,
                           billing_anchor=row.current_period_end, billing_starts_at=row.current_period_end)
    return row, plan.name
