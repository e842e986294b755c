"""The catalog's hand-written SQL, each statement beside its ORM twin (``<name>_orm``;
``tests/integration/test_queries.py`` runs both on the same rows and compares them).

A promotion code typed at checkout is read twice per purchase (checked before anything is
written, then redeemed in the purchase's transaction, under the write lock): the ORM built
four statements for it (the code with its coupon, the coupon's plans, two counters), each
costing more to build than to run."""

from __future__ import annotations

import functools
from decimal import Context, Decimal

from django.db import connection
from django.db.models import F, Q

from assina.db import aware_datetime, execute, select_row, select_rows, sql_columns, sql_in_list, sql_table

from .models import IMPORTED_VERSIONS_FROM, Coupon, Plan, PlanVersion, PromotionCode

# A coupon's columns as the fixed statement reads them, in the model's field order.
_COUPON_FIELDS = [f for f in Coupon._meta.concrete_fields]
_PERCENT = Coupon._meta.get_field("percent_off")


@functools.cache
def _promotion_code_sql(vendor: str) -> tuple[str, str]:
    p, c = sql_columns(PromotionCode), sql_columns(Coupon)
    through = Coupon.plans.through
    t, pl = sql_columns(through), sql_columns(Plan)
    coupon_columns = ", ".join(f"c.{c[f.name]}" for f in _COUPON_FIELDS)
    # Django's iexact: UPPER() on PostgreSQL; LIKE on SQLite, which folds ASCII letters only, as
    # SQLite's UPPER() does.
    code = f"UPPER(pc.{p['code']}) = UPPER(%s)"
    found = (f"SELECT pc.{p['id']}, pc.{p['active']}, pc.{p['expires_at']}, pc.{p['max_redemptions']},"
             f" pc.{p['times_redeemed']}, {coupon_columns},"
             f" EXISTS (SELECT 1 FROM {sql_table(through)} t WHERE t.{t['coupon']} = c.{c['id']})"
             f" FROM {sql_table(PromotionCode)} pc JOIN {sql_table(Coupon)} c ON c.{c['id']} = pc.{p['coupon']}"
             f" WHERE {code} ORDER BY pc.{p['code']} LIMIT 1")
    plans = (f"SELECT pl.{pl['code']} FROM {sql_table(through)} t JOIN {sql_table(Plan)} pl ON pl.{pl['id']} = t.{t['plan']}"
             f" WHERE t.{t['coupon']} = %s")
    return found, plans


_DECIMAL = Context(prec=15)


def _percent(value) -> Decimal | None:
    """``percent_off`` as the ORM reads it (SQLite keeps a number, PostgreSQL a numeric)."""
    if value is None:
        return None
    if isinstance(value, float):
        value = _DECIMAL.create_decimal_from_float(value)
    return Decimal(value).quantize(Decimal(1).scaleb(-_PERCENT.decimal_places), context=_PERCENT.context)


def _instance(model: type, fields: list, values) -> object:
    """A model instance from a fixed statement's row (``fields``' columns in order), its values
    as the ORM reads them: the catalog's models hold booleans, datetimes and one decimal."""
    values = list(values)
    for i, field in enumerate(fields):
        kind = field.get_internal_type()
        if kind == "DateTimeField":
            values[i] = aware_datetime(values[i])
        elif kind == "BooleanField":
            values[i] = bool(values[i]) if values[i] is not None else None
        elif field is _PERCENT:
            values[i] = _percent(values[i])
        elif kind not in _PLAIN:
            raise TypeError(f"{model.__name__}.{field.name}: a {kind} is not read by catalog.queries yet")
    return model.from_db(connection.alias, [f.attname for f in fields], values)


# Columns the engines give as the ORM does (no converter to apply).
_PLAIN = {"AutoField", "BigAutoField", "CharField", "SlugField", "PositiveIntegerField", "PositiveSmallIntegerField",
          "BigIntegerField", "IntegerField", "ForeignKey", "DecimalField"}

_PLAN_FIELDS = [f for f in Plan._meta.concrete_fields]


@functools.cache
def _plans_sql(vendor: str) -> tuple[str, str]:
    p = sql_columns(Plan)
    columns = ", ".join(p[f.name] for f in _PLAN_FIELDS)
    table = sql_table(Plan)
    return (f"SELECT {columns} FROM {table} WHERE {p['code']} = %s AND {p['kind']} = %s AND {p['active']}",
            f"SELECT {columns} FROM {table} WHERE {p['kind']} = %s AND {p['active']} AND {p['currency']} = %s"
            f" AND {p['interval']} = %s AND {p['interval_count']} = %s AND {{codes}} ORDER BY {p['code']}")


def active_plan(code: str, kind: str) -> Plan | None:
    """The active plan ``code`` of ``kind`` (base plan or add-on), or None."""
    row = select_row(_plans_sql(connection.vendor)[0], [code, kind])
    return None if row is None else _instance(Plan, _PLAN_FIELDS, row)


def active_plan_orm(code: str, kind: str) -> Plan | None:
    return Plan.objects.filter(code=code, kind=kind, active=True).first()


def active_addons(codes: list[str], currency: str, interval: str, interval_count: int) -> list[Plan]:
    """The active add-ons among ``codes`` that bill in ``currency`` every ``interval_count``
    ``interval`` (what can be bought with such a plan), by code."""
    if not codes:
        return []
    among, listed = sql_in_list(sql_columns(Plan)["code"], codes)
    sql = _plans_sql(connection.vendor)[1].replace("{codes}", among)
    return [_instance(Plan, _PLAN_FIELDS, row)
            for row in select_rows(sql, [Plan.Kind.ADDON, currency, interval, interval_count, *listed])]


def active_addons_orm(codes: list[str], currency: str, interval: str, interval_count: int) -> list[Plan]:
    return list(Plan.objects.filter(kind=Plan.Kind.ADDON, active=True, currency=currency, interval=interval,
                                    interval_count=interval_count, code__in=codes).order_by("code"))


def promotion_code(code: str) -> tuple[tuple, Coupon] | None:
    """The promotion code whose letters are ``code`` in any case (as ``code__iexact``), as (id,
    active, expires_at, max_redemptions, times_redeemed), and its coupon, which carries the
    codes of the plans it is limited to (``Coupon.to_core`` uses them); None when there is none.
    One statement, two when the coupon is limited to some plans."""
    found_sql, plans_sql = _promotion_code_sql(connection.vendor)
    row = select_row(found_sql, [code])
    if row is None:
        return None
    promo = (row[0], bool(row[1]), aware_datetime(row[2]), row[3], row[4])
    coupon = _instance(Coupon, _COUPON_FIELDS, row[5:-1])
    coupon.plan_codes = frozenset(r[0] for r in select_rows(plans_sql, [coupon.pk])) if row[-1] else frozenset()
    return promo, coupon


def promotion_code_orm(code: str) -> tuple[tuple, Coupon] | None:
    found = PromotionCode.objects.filter(code__iexact=code).select_related("coupon").first()
    if found is None:
        return None
    coupon = found.coupon
    coupon.plan_codes = frozenset(coupon.plans.values_list("code", flat=True))
    return (found.pk, found.active, found.expires_at, found.max_redemptions, found.times_redeemed), coupon


@functools.cache
def _count_sql(vendor: str, model: type) -> tuple[str, str]:
    c, table = sql_columns(model), sql_table(model)
    counted = f"UPDATE {table} SET {c['times_redeemed']} = {c['times_redeemed']} + 1 WHERE {c['id']} = %s"
    return counted, counted + f" AND {c['times_redeemed']} < %s"


def count_redemption(model: type, pk: int, limit: int | None) -> bool:
    """One more redemption of the promotion code or coupon ``pk`` (``model``) unless it has
    ``limit`` already (None: no limit); whether it was counted. In the caller's transaction."""
    unlimited, limited = _count_sql(connection.vendor, model)
    return execute(unlimited, [pk]) == 1 if limit is None else execute(limited, [pk, limit]) == 1


def count_redemption_orm(model: type, pk: int, limit: int | None) -> bool:
    room = Q(times_redeemed__lt=limit) if limit is not None else Q()
    return model.objects.filter(room, pk=pk).update(times_redeemed=F("times_redeemed") + 1) == 1



@functools.cache
def _versions_sql(vendor: str) -> str:
    v = sql_columns(PlanVersion)
    return (f"SELECT {v['plan']}, {v['id']} FROM {sql_table(PlanVersion)} WHERE {{plans}} AND {v['version']} < %s"
            f" ORDER BY {v['plan']}, {v['version']} DESC")


def current_version_ids(plan_ids: list[int]) -> dict[int, int]:
    """Each plan's current version id (``Plan.current_version``: the newest version not
    imported from another system), by plan id."""
    among, listed = sql_in_list(sql_columns(PlanVersion)["plan"], plan_ids)
    found: dict[int, int] = {}
    for plan_id, version_id in select_rows(_versions_sql(connection.vendor).replace("{plans}", among),
                                           [*listed, IMPORTED_VERSIONS_FROM]):
        found.setdefault(plan_id, version_id)
    return found


def current_version_ids_orm(plan_ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for plan_id, version_id in (PlanVersion.objects.filter(plan_id__in=plan_ids, version__lt=IMPORTED_VERSIONS_FROM)
                                .order_by("plan_id", "-version").values_list("plan_id", "id")):
        found.setdefault(plan_id, version_id)
    return found
