"""The revenue dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright) against a live server: login lands on it, the charts have data, the filters change
them, it speaks Portuguese, tables export as CSV, and the browser logs no error."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.analytics import service
from assina.subscriptions import services as subs

PASSWORD = "dashboard-pass-1"

pytestmark = pytest.mark.django_db(transaction=True)


def _business() -> None:
    """Three months of a tiny shop, with backdated starts (fast: no clock moves)."""
    start_clock(utc(2027, 4, 10, 12))
    make_plan("basic", 3000)
    make_plan("pro", 10000)
    make_plan("annual", 120000, interval="year")
    plans = ["basic", "pro", "annual", "basic", "pro", "basic", "pro", "basic", "annual"]
    made = []
    for i, plan in enumerate(plans):
        customer = make_customer(country="BR" if i % 3 else "PT", metadata={"segment": "salon" if i % 2 else "clinic"})
        # Months of history: a start may otherwise lie one billing period back (issue 14).
        with override_settings(ASSINA_MAX_BACKDATE_DAYS=400):
            made.append(subscribe(customer, plan, start=utc(2027, 1 + i % 3, 3 + 2 * i, 9)))
    subs.cancel_now(made[3].pk, reason="too_expensive")
    subscribe(made[0].customer, "pro")  # a second subscription: expansion


def _traces(page, chart: str) -> list[dict]:
    return page.evaluate(f"() => document.getElementById('{chart}').data.map(t => ({{name: t.name, type: t.type, "
                         f"x: t.x || null, y: t.y || null, z: t.z || null, values: t.values || null}}))")


def test_dashboard_renders_with_data_filters_change_it_and_no_console_errors(live_server, browser_context, django_user_model):
    service.forget()
    _business()
    django_user_model.objects.create_user("owner", password=PASSWORD, is_staff=True, is_superuser=True)
    errors: list[str] = []
    page = browser_context.new_page()
    page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url', '')}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    # The first thing after login is the dashboard.
    page.goto(live_server.url + "/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#chart-mrr .main-svg")
    assert page.url.startswith(live_server.url + "/dashboard/")
    assert page.inner_text("h1") == "Revenue dashboard"
    assert "reconcile" in page.inner_text("#reconciles")

    mrr = _traces(page, "chart-mrr")
    line = next(t for t in mrr if t["type"] == "scatter")
    assert line["x"][-1] == "2027-04" and line["y"][-1] > 0
    new = next(t for t in mrr if t["name"] == "New business")
    assert sum(new["y"]) > 0
    heat = _traces(page, "chart-cohorts")[0]
    assert heat["type"] == "heatmap" and any(v is not None for row in heat["z"] for v in row)
    assert sum(_traces(page, "chart-plans")[0]["y"]) == pytest.approx(line["y"][-1])
    assert len(_traces(page, "chart-retention")) == 5
    assert _traces(page, "chart-mix")[0]["values"]
    everything = line["y"][-1]

    # Filters change the charts: only the basic plan, a shorter range.
    page.select_option("#filter-plan", "basic")
    page.select_option("#filter-months", "3")
    page.click("#filter-apply")
    page.wait_for_selector("#chart-mrr .main-svg")
    assert "plan=basic" in page.url
    basic = next(t for t in _traces(page, "chart-mrr") if t["type"] == "scatter")
    assert len(basic["x"]) == 3 and 0 < basic["y"][-1] < everything
    assert _traces(page, "chart-plans")[0]["x"] == ["Basic"]  # the plan's name, not its code

    # Each table exports as CSV (with the same filters).
    href = page.get_attribute("#table-months a.export", "href")
    csv = browser_context.request.get(live_server.url + href)
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text().splitlines()[0].startswith("Month,MRR at start,New business")
    assert len(csv.text().splitlines()) == 4

    # Portuguese, through the language switcher.
    page.select_option("#assina-language-select", "pt-br")
    page.click("#assina-language button")
    page.wait_for_selector("#chart-mrr .main-svg")
    assert page.inner_text("h1") == "Painel de receita"
    assert any(t["name"] == "Novos negócios" for t in _traces(page, "chart-mrr"))
    # Months, numbers and money as a Brazilian reads them, in the axes and the hovers.
    ticks = page.eval_on_selector_all("#chart-mrr .xtick text", "els => els.map(e => e.textContent)")
    assert any(t.startswith("abr") for t in ticks), ticks
    hovers = page.evaluate("() => document.getElementById('chart-mrr').data.find(t => t.type === 'scatter').customdata")
    assert re.fullmatch(r"R\$\s[\d.]+,\d{2}", hovers[-1]), hovers
    assert "%B de %Y" in page.evaluate("() => document.getElementById('chart-mrr').data[0].hovertemplate")
    assert "abr. de 2027" in page.inner_text("#period") and "T" not in page.inner_text("#period").split("2027")[-1]
    # Each KPI says what it is and over which months.
    definition = page.text_content("#kpi-net_revenue_retention details p")
    assert "fev. de 2027" in definition and "abr. de 2027" in definition

    # On a phone (390 px) no KPI value is cut off.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    cut = page.eval_on_selector_all("#assina-dashboard .kpi .value",
                                    "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)")
    assert cut == []
    # The admin's login page (not ours: the dashboard declares its icon) makes Chromium ask for
    # /favicon.ico, which the app does not serve.
    assert [e for e in errors if not e.endswith("/favicon.ico")] == []
    service.forget()
