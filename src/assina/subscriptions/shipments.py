"""The owner's shipment list of a month: who ships what where.

A delivery is a billed period of a plan that ships goods: an invoice of the period (not void)
with a shipping line (a skipped delivery's invoice has none). Deliveries are listed by the
month their period starts in (business time zone), with the customer, what the invoice bills
(a bundle's parts in place of the bundle, add-ons beside them) and the customer's shipping
address as it is now. The CSV goes through ``core.spreadsheet`` (no cell read as a formula).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from assina.catalog.models import BundleComponent, Plan
from assina.core.invoice_states import InvoiceStatus
from assina.core.invoicing import LineKind
from assina.core.shipping import ADDRESS_FIELDS
from assina.core.spreadsheet import safe_row
from assina.invoices.models import Invoice, InvoiceLine

from .services import SubscriptionError

HEADER = ("period_start", "invoice", "invoice_status", "subscription", "customer", "name", "email", "items",
          *ADDRESS_FIELDS)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Shipment:
    period_start: datetime
    invoice: str
    status: str
    subscription_id: int
    customer_id: int
    name: str
    email: str
    items: tuple[tuple[str, str, int], ...]  # (code, name, quantity)
    address: dict


def month_bounds(month: str) -> tuple[datetime, datetime]:
    match = _MONTH.match(month or "")
    if not match or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2999:
        raise SubscriptionError(_("a month is written YYYY-MM, like 2027-01; got %(value)s") % {"value": repr(month)})
    year, number = int(match[1]), int(match[2])
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=tz)
    return start, end


def shipments(month: str) -> list[Shipment]:
    """The deliveries whose period starts in ``month`` (YYYY-MM), by period start and invoice. Four queries."""
    start, end = month_bounds(month)
    invoices = list(Invoice.objects.filter(
        period_start__gte=start, period_start__lt=end, subscription__isnull=False, lines__kind=LineKind.SHIPPING.value)
        .exclude(status=InvoiceStatus.VOID.value).select_related("customer").order_by("period_start", "pk").distinct())
    lines: dict[int, list[tuple[str, str, int]]] = {i.pk: [] for i in invoices}
    rows = list(InvoiceLine.objects.filter(invoice_id__in=list(lines), kind__in=[
        LineKind.SUBSCRIPTION.value, LineKind.ADDON.value, LineKind.BUNDLE_PART.value]).order_by("pk")
        .values_list("invoice_id", "kind", "item_code", "quantity"))
    codes = {code for _i, _k, code, _q in rows}
    names = dict(Plan.objects.filter(code__in=codes).values_list("code", "name"))
    bundles = set(BundleComponent.objects.filter(plan_version__plan__code__in=codes)
                  .values_list("plan_version__plan__code", flat=True))
    for invoice_id, kind, code, quantity in rows:
        if kind != LineKind.BUNDLE_PART.value and code in bundles:
            continue  # the bundle's parts ship, listed under it
        lines[invoice_id].append((code, names.get(code, code), quantity))
    return [Shipment(period_start=i.period_start, invoice=i.number or "", status=i.status,
                     subscription_id=i.subscription_id, customer_id=i.customer_id, name=i.customer.name,
                     email=i.customer.email, items=tuple(lines[i.pk]), address=dict(i.customer.shipping_address or {}))
            for i in invoices]


def shipments_csv(month: str) -> str:
    """The month's shipments as CSV (one row per delivery; items as "name × quantity; ...")."""
    tz = ZoneInfo(settings.TIME_ZONE)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for s in shipments(month):
        items = "; ".join(f"{name} × {quantity}" for _code, name, quantity in s.items)
        writer.writerow(safe_row([s.period_start.astimezone(tz).date().isoformat(), s.invoice, s.status,
                                  f"sub_{s.subscription_id}", s.customer_id, s.name, s.email, items,
                                  *(s.address.get(field, "") for field in ADDRESS_FIELDS)]))
    return out.getvalue()
