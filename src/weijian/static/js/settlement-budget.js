// moved from templates/settlement/budget.html (CSP: scripts from 'self' only)
(function () {
  var el = document.getElementById('budget-chart');
  if (!el || typeof echarts === 'undefined') { if (el) { el.style.display = 'none'; } return; }
  var d = JSON.parse(el.getAttribute('data-chart') || '{}');
  if (!d.labels) { el.style.display = 'none'; return; }
  var money = function (v) { return v == null ? '—' : '¥' + Number(v).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 }); };
  var series = d.series.map(function (s) { return { name: s.name, type: 'bar', stack: 'spent', data: s.data, emphasis: { focus: 'series' } }; });
  if (d.monthly_budget != null) {
    series.push({ name: d.names.budget, type: 'line', symbol: 'none', data: d.labels.map(function () { return d.monthly_budget; }),
                  lineStyle: { type: 'dashed', color: '#b42318', width: 2 }, itemStyle: { color: '#b42318' } });
  }
  series.push({ name: d.names.cumulative, type: 'line', yAxisIndex: 1, data: d.cumulative, itemStyle: { color: '#0b5394' },
                markLine: d.budget != null ? { symbol: 'none', data: [{ yAxis: d.budget }], lineStyle: { color: '#0b5394', type: 'dotted' }, label: { formatter: d.names.budget_total } } : undefined });
  var div = Number(d.names.divisor) || 10000;
  var axis = function (v) { return (v / div) + d.names.unit; };
  var chart = echarts.init(el);
  chart.setOption({
    color: ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00', '#b82e2e',
            '#316395', '#994499', '#22aa99', '#aaaa11', '#6633cc', '#e67300', '#8b0707', '#651067', '#329262'],
    title: { text: d.names.title, left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: money, renderMode: 'richText' },
    legend: { type: 'scroll', bottom: 0 },
    grid: { left: 80, right: 90, bottom: 60, top: 40 },
    xAxis: { type: 'category', data: d.labels },
    yAxis: [{ type: 'value', axisLabel: { formatter: axis } },
            { type: 'value', position: 'right', splitLine: { show: false }, axisLabel: { formatter: axis },
              max: function (v) { return d.budget != null && d.budget > v.max ? Math.ceil(d.budget * 1.05 / (div * 10)) * div * 10 : null; } }],
    series: series
  });
  window.addEventListener('resize', function () { chart.resize(); });
})();
