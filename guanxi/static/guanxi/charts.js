// Bar charts drawn with the vendored ECharts from numbers the page carries in a JSON script
// element (Django's json_script), because our CSP forbids inline script:
//   {{ data|json_script:"some-id" }}  <div data-bar-chart="some-id"></div>
// The data: {"categories": [...], "series": [{"name": "...", "data": [...]}, ...]}; series are
// stacked. Without JavaScript the page's table holds the same numbers.
(function () {
  "use strict";
  function draw(element) {
    if (typeof window.echarts === "undefined" || element.getAttribute("data-drawn")) { return; }
    var source = document.getElementById(element.getAttribute("data-bar-chart"));
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    element.setAttribute("data-drawn", "1");
    // Set through the CSSOM, which the CSP allows (a style attribute it would not).
    element.style.height = "320px";
    var chart = window.echarts.init(element);
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 8, bottom: 8, top: 40, containLabel: true },
      xAxis: { type: "category", data: data.categories, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (series) {
        return { name: series.name, type: "bar", stack: "total", data: series.data };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function drawAll() {
    document.querySelectorAll("[data-bar-chart]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
