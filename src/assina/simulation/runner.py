"""The day-by-day walk: move the test clock, and let customers act at random times of each day.

Every random decision comes from one ``random.Random(seed)`` and is taken in an order that
depends only on earlier decisions (subscriptions are visited by id, ties in time by
scheduling order), so a seed always produces the same business. The clock is moved with
``advance_clock``, which bills renewals, trial ends, scheduled changes and period-end
cancellations in time order between two customer actions.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time as wall_clock
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils.translation import gettext as _

from assina.catalog.models import Coupon, Plan
from assina.clock.services import freeze_clock
from assina.scheduler import advance_clock
from assina.core.errors import DomainError
from assina.core.states import SubscriptionStatus
from assina.customers.models import Customer
from assina.subscriptions.models import Subscription

from . import business as biz
from .actions import CustomerActions
from .followers import FollowerProcess, can_follow_in_parallel
from .people import People
from .summary import month_line, summarize

S = SubscriptionStatus
MAX_MONTHS = 120
# Sign-ups grow over the simulated time: the last day gets this many times the first day's.
GROWTH = 3.0
WEEKEND_SIGNUPS = 0.6
# What an active subscription does, per month (each day draws once against these / 30).
MONTHLY_RATES = {"cancel_at_period_end": 0.03, "cancel_now": 0.004, "pause": 0.005, "change_plan": 0.025,
                 "change_seats": 0.08, "go_annual": 0.012}
# A Business customer opens a second location (a second subscription), per month.
ADD_LOCATION_RATE = 0.01
TRIAL_CANCEL_PER_DAY = 0.0075  # about 10% of trials with a card cancel before converting


class SimulationError(DomainError):
    pass


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def simulate(*, customers: int = 500, months: int = 18, seed: int = 1, progress: bool = False,
             end: datetime | None = None, parallel_mail: bool | None = None) -> dict:
    """Fill a fresh sandbox database with ``months`` of a business that gains ``customers`` customers.

    The simulated time ends at the start of the current day in the business time zone (or of
    the day of ``end``) and starts ``months`` earlier. Returns a summary of what exists then.
    ``parallel_mail`` sends the mail (and webhooks) from a second process while the clock moves
    (see ``followers``); by default it does wherever a second process can see the database.
    """
    started = wall_clock.perf_counter()
    if not isinstance(customers, int) or customers < 1:
        raise SimulationError(_("the number of customers must be at least 1"))
    if not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise SimulationError(_("the number of months must be between 1 and %(maximum)s") % {"maximum": MAX_MONTHS})
    _require_fresh_sandbox()
    tz = ZoneInfo(settings.TIME_ZONE)
    end_day = (end or datetime.now(UTC)).astimezone(tz).date()
    start_day = end_day - relativedelta(months=months)
    if parallel_mail is None:
        parallel_mail = can_follow_in_parallel()
    run = Simulation(customers=customers, start_day=start_day, end_day=end_day, seed=seed, tz=tz, progress=progress,
                     parallel_followers=parallel_mail)
    run.run()
    return summarize(start=run.start, end=run.end, actions=run.counts, seconds=wall_clock.perf_counter() - started)


def _require_fresh_sandbox() -> None:
    if settings.ASSINA_MODE != "sandbox":
        raise SimulationError(_("simulate only runs on a sandbox database (ASSINA_MODE=sandbox): it moves the test clock"))
    if Customer.objects.exists():
        raise SimulationError(_("this database already has customers; simulate fills a new, empty sandbox database "
                                "(point ASSINA_DATABASE_URL at a new database and run `assina migrate` first)"))
    taken = sorted(Plan.objects.filter(code__in=biz.PLAN_CODES).values_list("code", flat=True))
    taken += sorted(Coupon.objects.filter(code__in=(biz.WELCOME_COUPON, biz.PARTNER_COUPON)).values_list("code", flat=True))
    if taken:
        raise SimulationError(_("this database already has plans or coupons the simulation creates (%(codes)s); "
                                "run it on a new, empty sandbox database") % {"codes": ", ".join(taken)})


class Simulation(CustomerActions):
    """The walk over the simulated days; the actions themselves live in ``CustomerActions``."""

    def __init__(self, *, customers: int, start_day: date, end_day: date, seed: int, tz: ZoneInfo, progress: bool,
                 parallel_followers: bool = False) -> None:
        self.customers = customers
        self.start_day, self.end_day, self.tz = start_day, end_day, tz
        self.start, self.end = _midnight(start_day, tz), _midnight(end_day, tz)
        self.rng = random.Random(seed)
        self.extra = random.Random(f"extra-{seed}")
        self._extra_subs: set[int] = set()
        self.people = People(self.rng)
        self.progress = progress
        self.clock = self.start
        self.counts: Counter = Counter()
        self._queue: list[tuple[datetime, int, str, tuple]] = []
        self._order = itertools.count()
        self._plan_codes: dict[int, str] = {}
        self._with_addon: set[int] = set()
        self._past_due_seen: set[int] = set()
        self._followed_day = None
        self.parallel_followers = parallel_followers

    # --- the walk -------------------------------------------------------------------------
    def run(self) -> None:
        if self.parallel_followers:
            with FollowerProcess() as self._followers:
                self._walk()
            # What the child had not reached yet: the last mail, dated when each fell due.
            advance_clock(self.end)
        else:
            self._walk()

    def _walk(self) -> None:
        freeze_clock(self.start)
        biz.create_catalog(self.start)
        # Each plan's family (basic, pro, ...), whatever its currency: what the day's draws depend on.
        self._plan_codes = {pk: biz.FAMILY[code] for pk, code in Plan.objects.values_list("pk", "code")}
        self._schedule_signups()
        middle = self.start_day + (self.end_day - self.start_day) // 2
        self._at(_midnight(middle, self.tz) + timedelta(hours=10), "raise_price")
        day, month_start = self.start_day, self.start
        while day < self.end_day:
            day_start, next_day = _midnight(day, self.tz), day + timedelta(days=1)
            day_end = _midnight(next_day, self.tz)
            self._plan_day(day_start)
            while self._queue and self._queue[0][0] < day_end:
                when, _order, action, args = heapq.heappop(self._queue)
                self._move_to(when)
                self._act(action, args)
            if next_day.day == 1 or next_day == self.end_day:
                # Between actions the clock only moves when the next one happens (one billing
                # batch instead of two); month ends are reached exactly, for the progress line.
                self._move_to(day_end)
                if self.progress:
                    print(month_line(day.strftime("%Y-%m"), month_start, day_end, biz.CURRENCY), flush=True)
                month_start = day_end
            day = next_day

    def _act(self, action: str, args: tuple) -> None:
        """Run an action; one on a subscription the extras created draws from their generator."""
        main = self.rng
        if args and action not in ("win_back", "fix_payment", "add_card") and args[0] in self._extra_subs:
            self.rng = self.extra
        try:
            getattr(self, f"_{action}")(*args)
        finally:
            self.rng = main

    def _at(self, when: datetime, action: str, *args) -> None:
        heapq.heappush(self._queue, (max(when, self.clock), next(self._order), action, args))

    def _move_to(self, when: datetime) -> None:
        if when > self.clock:
            # Mail (and webhooks) follow once per simulated day, at its first stop, dated when
            # each message fell due: a worker polling all day sends the same messages, and the
            # demo is not slowed by a mail pass after every action.
            day = when.astimezone(self.tz).date()
            new_day = day != self._followed_day
            if new_day and self.parallel_followers:
                # Today's reminders read what the mail of yesterday's events wrote (see followers).
                self._followers.catch_up(_midnight(day, self.tz))
            advance_clock(when, followers=new_day and not self.parallel_followers)
            if self.parallel_followers:
                self._followers.clock_moved()
            if new_day:
                self._followed_day = day
            self.clock = when

    def _daytime(self, day_start: datetime) -> datetime:
        """A moment of the waking hours (07:00-23:00) of the day starting at ``day_start``."""
        return day_start + timedelta(seconds=self.rng.randrange(7 * 3600, 23 * 3600))

    def _schedule_signups(self) -> None:
        days = (self.end_day - self.start_day).days
        weights = [math.exp(math.log(GROWTH) * i / days)
                   * (WEEKEND_SIGNUPS if (self.start_day + timedelta(days=i)).weekday() >= 5 else 1.0)
                   for i in range(days)]
        for i in sorted(self.rng.choices(range(days), weights=weights, k=self.customers)):
            self._at(self._daytime(_midnight(self.start_day + timedelta(days=i), self.tz)), "signup")

    def _plan_day(self, day_start: datetime) -> None:
        """Decide what the living subscriptions do today (one draw each, in id order)."""
        rows = (Subscription.objects.exclude(status=S.CANCELED.value).order_by("pk")
                .values_list("pk", "customer_id", "status", "plan_id", "cancel_at_period_end"))
        main = self.rng
        for pk, customer_id, status, plan_id, leaving in rows:
            extra = pk in self._extra_subs
            self.rng = self.extra if extra else main
            try:
                self._plan_subscription(pk, customer_id, status, self._plan_codes[plan_id], leaving, day_start)
            finally:
                self.rng = main
            if not extra and status == S.ACTIVE.value and not leaving and self._plan_codes[plan_id] == biz.BUSINESS \
                    and self.extra.random() * 30 < ADD_LOCATION_RATE:
                when = day_start + timedelta(seconds=self.extra.randrange(7 * 3600, 23 * 3600))
                self._at(when, "add_location", pk)

    def _plan_subscription(self, pk: int, customer_id: int, status: str, plan: str, leaving: bool,
                           day_start: datetime) -> None:
        if status == S.PAST_DUE.value:
            if pk not in self._past_due_seen:
                self._past_due_seen.add(pk)
                self._on_past_due(pk, customer_id, day_start)
            return
        if leaving:
            return
        if status == S.TRIALING.value:
            if self.rng.random() < TRIAL_CANCEL_PER_DAY:
                self._at(self._daytime(day_start), "cancel_trial", pk)
            return
        if status != S.ACTIVE.value:
            return
        draw = self.rng.random() * 30
        for action in self._choices(pk, plan):
            draw -= MONTHLY_RATES[action]
            if draw < 0:
                self._at(self._daytime(day_start), action, pk)
                break

    def _choices(self, pk: int, plan: str) -> list[str]:
        actions = ["cancel_at_period_end", "cancel_now", "pause", "change_plan"]
        if plan == biz.BUSINESS:
            actions.append("change_seats")
        if plan in (biz.BASIC, biz.PRO) and pk not in self._with_addon:
            actions.append("go_annual")
        return actions

    def _on_past_due(self, pk: int, customer_id: int, day_start: datetime) -> None:
        """A renewal failed: most customers fix their card within days, some never do."""
        draw = self.rng.random()
        if draw < 0.55:
            self._at(day_start + timedelta(days=self.rng.uniform(0.3, 10)), "fix_payment", customer_id)
        elif draw < 0.80:
            self._at(day_start + timedelta(days=self.rng.uniform(15, 40)), "give_up", pk)
