// A child's weights against the WHO 2006 weight-for-age median and ±2 SD (care.childcare.pages). Without
// ECharts (or JavaScript) the chart hides and the table of checks stays.
(function () {
  var el = document.getElementById('growth-chart');
  if (!el || typeof echarts === 'undefined') { if (el) { el.style.display = 'none'; } return; }
  var d = JSON.parse(el.getAttribute('data-chart') || '{}');
  if (!d.points || !d.points.length) { el.style.display = 'none'; return; }
  var maxMonth = Math.min(60, Math.ceil(Math.max.apply(null, d.points.map(function (p) { return p[0]; }))) + 6);
  function curve(values) {
    return d.months.filter(function (m) { return m <= maxMonth; }).map(function (m) { return [m, values[m]]; });
  }
  var chart = echarts.init(el);
  chart.setOption({
    title: { text: el.getAttribute('data-title'), left: 'center', textStyle: { fontSize: 14 } },
    legend: { bottom: 0 },
    grid: { left: 45, right: 30, bottom: 50, top: 40 },
    tooltip: { trigger: 'item', renderMode: 'richText' },
    xAxis: { type: 'value', min: 0, max: maxMonth, name: 'm' },
    yAxis: { type: 'value', name: 'kg' },
    series: [
      { name: d.names.plus2, type: 'line', showSymbol: false, lineStyle: { type: 'dashed' }, data: curve(d.plus2) },
      { name: d.names.median, type: 'line', showSymbol: false, data: curve(d.median) },
      { name: d.names.minus2, type: 'line', showSymbol: false, lineStyle: { type: 'dashed' }, data: curve(d.minus2) },
      { name: d.names.child, type: 'line', symbolSize: 8, data: d.points }
    ]
  });
  window.addEventListener('resize', function () { chart.resize(); });
})();
