// Draws the dashboard's charts from the JSON the page carries (labels already translated).
(function () {
  "use strict";
  function draw() {
    var d = JSON.parse(document.getElementById("dashboard-data").textContent);
    var cfg = {displaylogo: false, responsive: true};
    var layout = function (extra) {
      return Object.assign({margin: {t: 20, r: 70, b: 50, l: 70}, legend: {orientation: "h", y: -0.2},
                            paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)"}, extra || {});
    };
    var colors = {new: "#2e7d32", expansion: "#66bb6a", reactivation: "#29b6f6", contraction: "#ffa726", churn: "#e53935"};
    var movement = Object.keys(d.movement_labels).map(function (k) {
      return {type: "bar", name: d.movement_labels[k], x: d.months, y: d.movements[k], marker: {color: colors[k]}};
    });
    movement.push({type: "scatter", mode: "lines+markers", name: d.labels.mrr, x: d.months, y: d.mrr, yaxis: "y2",
                   line: {color: "#1e3a8a", width: 3}});
    Plotly.newPlot("chart-mrr", movement, layout({barmode: "relative", yaxis: {title: d.currency},
      yaxis2: {overlaying: "y", side: "right", title: d.labels.mrr + " (" + d.currency + ")", rangemode: "tozero"}}), cfg);
    var rates = Object.keys(d.rate_labels).map(function (k) {
      return {type: "scatter", mode: "lines+markers", name: d.rate_labels[k], x: d.months, y: d.rates[k],
              yaxis: k.indexOf("retention") >= 0 ? "y2" : "y"};
    });
    Plotly.newPlot("chart-retention", rates, layout({yaxis: {title: d.labels.churn_axis, ticksuffix: "%"},
      yaxis2: {overlaying: "y", side: "right", title: d.labels.retention_axis, ticksuffix: "%", showgrid: false}}), cfg);
    Plotly.newPlot("chart-ltv", [
      {type: "bar", name: d.labels.arpa, x: d.months, y: d.arpa, marker: {color: "#90caf9"}},
      {type: "scatter", mode: "lines+markers", name: d.labels.ltv, x: d.months, y: d.ltv, yaxis: "y2", line: {color: "#6a1b9a"}}
    ], layout({yaxis: {title: d.labels.arpa}, yaxis2: {overlaying: "y", side: "right", title: d.labels.ltv}}), cfg);
    Plotly.newPlot("chart-plans", [{type: "bar", x: d.plans.labels, y: d.plans.values, name: d.labels.mrr,
                                    marker: {color: "#3949ab"}}], layout({yaxis: {title: d.currency}}), cfg);
    Plotly.newPlot("chart-mix", [{type: "pie", labels: d.mix.labels, values: d.mix.values, hole: 0.45, sort: false}],
                   layout(), cfg);
    Plotly.newPlot("chart-cancellations", [{type: "bar", orientation: "h", y: d.cancellations.labels,
                    x: d.cancellations.values, name: d.labels.cancellations, marker: {color: "#e53935"}}],
                   layout({margin: {t: 20, r: 20, b: 40, l: 180}, yaxis: {autorange: "reversed"}}), cfg);
    var heat = function (id, z, title) {
      // The colour range starts at the lowest value (rounded down to 10 %): retention lives in its top part.
      var values = [].concat.apply([], z).filter(function (v) { return v !== null; });
      var low = values.length ? Math.max(0, Math.floor(Math.min.apply(null, values) / 10) * 10) : 0;
      var high = values.length ? Math.max(100, Math.ceil(Math.max.apply(null, values) / 10) * 10) : 100;
      Plotly.newPlot(id, [{type: "heatmap", x: d.cohorts.x, y: d.cohorts.y, z: z, colorscale: "Blues", reversescale: true,
                           zmin: low, zmax: high, hoverongaps: false, colorbar: {title: title, ticksuffix: "%"}}],
                     layout({yaxis: {autorange: "reversed", title: d.labels.cohort, type: "category"},
                             xaxis: {title: d.labels.months_since, type: "category"}}), cfg);
    };
    heat("chart-cohorts", d.cohorts.customers, d.labels.customers);
    heat("chart-cohorts-revenue", d.cohorts.revenue, d.labels.revenue);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
