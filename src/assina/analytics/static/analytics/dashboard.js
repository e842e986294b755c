// Draws the dashboard's charts from the JSON the page carries (labels already translated).
// Dates and numbers are written as the reader writes them: month names from the server (Babel),
// separators and compact amounts ("33,1 mil", "R$ 2.331,04") from the browser's Intl.
(function () {
  "use strict";

  // Round steps (1, 2, 2.5, 5 × 10^k) covering [lo, hi], about `count` of them.
  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) { hi = lo + 1; }
    var raw = (hi - lo) / (count || 5);
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * power; }).find(function (s) { return s >= raw; });
    var ticks = [];
    for (var v = Math.floor(lo / step) * step; v <= Math.ceil(hi / step) * step + step / 2; v += step) {
      ticks.push(Math.round(v * 1e6) / 1e6);
    }
    return ticks;
  }

  function values(list) {
    return [].concat.apply([], list).filter(function (v) { return v !== null && v !== undefined && !isNaN(v); });
  }

  function draw() {
    var d = JSON.parse(document.getElementById("dashboard-data").textContent);
    var loc = d.locale;
    // A name of our own: registering over Plotly's built-in "en" would drop the formats we do not set.
    var name = "assina-" + loc.tag;
    Plotly.register({moduleType: "locale", name: name, dictionary: {},
                     format: {days: loc.days, shortDays: loc.shortDays, months: loc.months, shortMonths: loc.shortMonths,
                              periods: ["AM", "PM"], dateTime: "%x, %X", date: "%d/%m/%Y", time: "%H:%M:%S",
                              decimal: loc.decimal, thousands: loc.thousands, grouping: [3], currency: ["", ""]}});
    var cfg = {displaylogo: false, responsive: true, locale: name};
    var compact = new Intl.NumberFormat(loc.tag, {notation: "compact", maximumFractionDigits: 1});
    var currency = new Intl.NumberFormat(loc.tag, {style: "currency", currency: d.currency});
    var percent = new Intl.NumberFormat(loc.tag, {style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1});
    var whole = new Intl.NumberFormat(loc.tag, {maximumFractionDigits: 0});
    var asMoney = function (v) { return v === null ? "—" : currency.format(v); };
    var asPercent = function (v) { return v === null ? "—" : percent.format(v / 100); };

    // An axis with round ticks written compactly; from 0 unless `fromZero` is false.
    var axis = function (series, extra, fromZero, format) {
      var all = values(series);
      var lo = all.length ? Math.min.apply(null, all) : 0, hi = all.length ? Math.max.apply(null, all) : 1;
      if (fromZero !== false) { lo = Math.min(0, lo); hi = Math.max(0, hi); }
      var ticks = niceTicks(lo, hi, 5);
      return Object.assign({tickvals: ticks, ticktext: ticks.map(format || function (v) { return compact.format(v); }),
                            range: [ticks[0], ticks[ticks.length - 1]], zeroline: true}, extra || {});
    };
    var monthAxis = {type: "date", tickformat: loc.month_tick, hoverformat: loc.month_hover};
    var hover = function (format, series) {
      return {customdata: series.map(format), hovertemplate: "%{x|" + loc.month_hover + "}<br>%{fullData.name}: %{customdata}<extra></extra>"};
    };
    var layout = function (extra) {
      return Object.assign({margin: {t: 20, r: 70, b: 50, l: 70}, legend: {orientation: "h", y: -0.2},
                            separators: loc.decimal + loc.thousands,
                            paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)"}, extra || {});
    };

    var colors = {new: "#2e7d32", expansion: "#66bb6a", reactivation: "#29b6f6", contraction: "#ffa726", churn: "#e53935"};
    var movement = Object.keys(d.movement_labels).map(function (k) {
      return Object.assign({type: "bar", name: d.movement_labels[k], x: d.months, y: d.movements[k], marker: {color: colors[k]}},
                           hover(asMoney, d.movements[k]));
    });
    movement.push(Object.assign({type: "scatter", mode: "lines+markers", name: d.labels.mrr, x: d.months, y: d.mrr, yaxis: "y2",
                                 line: {color: "#1e3a8a", width: 3}}, hover(asMoney, d.mrr)));
    // Bars stack up (gains) and down (losses): the left axis spans the highest stack of each side.
    var ups = d.months.map(function (_, i) { return ["new", "expansion", "reactivation"].reduce(function (s, k) { return s + Math.max(0, d.movements[k][i]); }, 0); });
    var downs = d.months.map(function (_, i) { return ["contraction", "churn"].reduce(function (s, k) { return s + Math.min(0, d.movements[k][i]); }, 0); });
    Plotly.newPlot("chart-mrr", movement, layout({barmode: "relative", xaxis: monthAxis,
      yaxis: axis([ups, downs], {title: d.currency}),
      yaxis2: axis([d.mrr], {overlaying: "y", side: "right", title: d.labels.mrr + " (" + d.currency + ")", showgrid: false})}), cfg);

    var churnKeys = [], retentionKeys = [];
    var rates = Object.keys(d.rate_labels).map(function (k) {
      var retention = k.indexOf("retention") >= 0;
      (retention ? retentionKeys : churnKeys).push(d.rates[k]);
      return Object.assign({type: "scatter", mode: "lines+markers", name: d.rate_labels[k], x: d.months, y: d.rates[k],
                            yaxis: retention ? "y2" : "y"}, hover(asPercent, d.rates[k]));
    });
    var pct = function (v) { return percent.format(v / 100).replace(/[,.]0(?=\D*$)/, ""); };
    Plotly.newPlot("chart-retention", rates, layout({xaxis: monthAxis,
      yaxis: axis(churnKeys, {title: d.labels.churn_axis}, true, pct),
      // Retention lives near 100 %: its axis spans the values, not 0 to 100.
      yaxis2: axis(retentionKeys, {overlaying: "y", side: "right", title: d.labels.retention_axis, showgrid: false}, false, pct)}), cfg);

    Plotly.newPlot("chart-ltv", [
      Object.assign({type: "bar", name: d.labels.arpa, x: d.months, y: d.arpa, marker: {color: "#90caf9"}}, hover(asMoney, d.arpa)),
      Object.assign({type: "scatter", mode: "lines+markers", name: d.labels.ltv, x: d.months, y: d.ltv, yaxis: "y2",
                     line: {color: "#6a1b9a"}}, hover(asMoney, d.ltv))
    ], layout({xaxis: monthAxis, yaxis: axis([d.arpa], {title: d.labels.arpa + " (" + d.currency + ")"}),
               yaxis2: axis([d.ltv], {overlaying: "y", side: "right", title: d.labels.ltv + " (" + d.currency + ")", showgrid: false})}), cfg);

    Plotly.newPlot("chart-plans", [{type: "bar", x: d.plans.labels, y: d.plans.values, name: d.labels.mrr, marker: {color: "#3949ab"},
                                    customdata: d.plans.values.map(asMoney), hovertemplate: "%{x}: %{customdata}<extra></extra>"}],
                   layout({yaxis: axis([d.plans.values], {title: d.labels.mrr + " (" + d.currency + ")"}),
                           xaxis: {type: "category", automargin: true}}), cfg);
    Plotly.newPlot("chart-mix", [{type: "pie", labels: d.mix.labels, values: d.mix.values, hole: 0.45, sort: false,
                                  customdata: d.mix.values.map(asMoney), hovertemplate: "%{label}: %{customdata} (%{percent})<extra></extra>"}],
                   layout(), cfg);
    Plotly.newPlot("chart-cancellations", [{type: "bar", orientation: "h", y: d.cancellations.labels,
                    x: d.cancellations.values, name: d.labels.cancellations, marker: {color: "#e53935"},
                    hovertemplate: "%{y}: %{x}<extra></extra>"}],
                   layout({margin: {t: 20, r: 20, b: 40, l: 180}, yaxis: {autorange: "reversed", automargin: true},
                           xaxis: axis([d.cancellations.values], {}, true, function (v) { return whole.format(v); })}), cfg);
    var heat = function (id, z, title) {
      // The colour range starts at the lowest value (rounded down to 10 %): retention lives in its top part.
      var all = values(z);
      var low = all.length ? Math.max(0, Math.floor(Math.min.apply(null, all) / 10) * 10) : 0;
      var high = all.length ? Math.max(100, Math.ceil(Math.max.apply(null, all) / 10) * 10) : 100;
      var text = z.map(function (row) { return row.map(function (v) { return v === null ? "" : asPercent(v); }); });
      Plotly.newPlot(id, [{type: "heatmap", x: d.cohorts.x, y: d.cohorts.labels, z: z, colorscale: "Blues", reversescale: true,
                           zmin: low, zmax: high, hoverongaps: false, customdata: text,
                           hovertemplate: "%{y} · %{x}: %{customdata}<extra></extra>",
                           colorbar: {title: title, tickvals: niceTicks(low, high, 5), ticktext: niceTicks(low, high, 5).map(pct)}}],
                     layout({yaxis: {autorange: "reversed", title: d.labels.cohort, type: "category", automargin: true},
                             xaxis: {title: d.labels.months_since, type: "category"}}), cfg);
    };
    heat("chart-cohorts", d.cohorts.customers, d.labels.customers);
    heat("chart-cohorts-revenue", d.cohorts.revenue, d.labels.revenue);
    forecast({cfg: cfg, layout: layout, axis: axis, asMoney: asMoney, pct: pct, percent: percent, whole: whole, currency: d.currency});
  }

  // The lifetime value section: a chosen curve's observed retention under its projection, and CLV by plan and cohort.
  function forecast(k) {
    var node = document.getElementById("forecast-data");
    if (!node) { return; }
    var f = JSON.parse(node.textContent);
    var picker = document.getElementById("forecast-curve");
    var pooledNote = document.getElementById("forecast-pooled");
    var share = function (v) { return v === null ? "—" : k.percent.format(v); };
    var drawCurve = function () {
      var c = f.curves[Number(picker.value) || 0];
      if (!c) { return; }
      var periods = function (list) { return list.map(function (_, i) { return i; }); };
      var pct100 = function (list) { return list.map(function (v) { return 100 * v; }); };
      var traces = [
        {type: "scatter", mode: "lines", name: f.labels.projected, x: periods(c.projected), y: pct100(c.projected),
         line: {color: "#6a1b9a", width: 2, dash: "dash"}, customdata: c.projected.map(share),
         hovertemplate: "%{x}: %{customdata}<extra>" + f.labels.projected + "</extra>"},
        {type: "scatter", mode: "lines+markers", name: f.labels.observed, x: periods(c.observed), y: pct100(c.observed),
         line: {color: "#1e3a8a", width: 3}, customdata: c.observed.map(share),
         hovertemplate: "%{x}: %{customdata}<extra>" + f.labels.observed + "</extra>"}
      ];
      var all = pct100(c.projected.concat(c.observed));
      Plotly.react("chart-forecast", traces, k.layout({
        // The legend above the plot: below it, it would sit on the axis title on a phone.
        legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom"}, margin: {t: 40, r: 20, b: 50, l: 70},
        xaxis: {title: {text: c.axis}, rangemode: "tozero", tickformat: "d"},
        yaxis: k.axis([all], {title: {text: f.labels.retained}}, true, k.pct)}), k.cfg);
      pooledNote.hidden = !c.pooled;
    };
    if (picker && f.curves.length) {
      picker.addEventListener("change", drawCurve);
      drawCurve();
    }
    var money = k.asMoney;
    Plotly.newPlot("chart-clv-plans", [
      {type: "bar", name: f.labels["new"], x: f.plans.labels, y: f.plans["new"], marker: {color: "#3949ab"},
       customdata: f.plans["new"].map(money), hovertemplate: "%{x}: %{customdata}<extra>" + f.labels["new"] + "</extra>"},
      {type: "bar", name: f.labels.mean, x: f.plans.labels, y: f.plans.mean, marker: {color: "#90caf9"},
       customdata: f.plans.mean.map(money), hovertemplate: "%{x}: %{customdata}<extra>" + f.labels.mean + "</extra>"}
    ], k.layout({barmode: "group", legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom"}, margin: {t: 60, r: 20, b: 50, l: 70},
                 yaxis: k.axis([f.plans["new"], f.plans.mean], {title: {text: k.currency}}),
                 xaxis: {type: "category", automargin: true}}), k.cfg);
    Plotly.newPlot("chart-clv-cohorts", [
      {type: "bar", name: f.labels.cohort_clv, x: f.cohorts.labels, y: f.cohorts.values, marker: {color: "#26a69a"},
       customdata: f.cohorts.values.map(money), hovertemplate: "%{x}: %{customdata}<extra></extra>"}
    ], k.layout({margin: {t: 20, r: 20, b: 50, l: 70}, yaxis: k.axis([f.cohorts.values], {title: {text: f.labels.cohort_clv + " (" + k.currency + ")"}}),
                 xaxis: {type: "category", automargin: true}}), k.cfg);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
