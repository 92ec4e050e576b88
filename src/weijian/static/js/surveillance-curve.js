// The epidemic curve by township (surveillance.signals.pages): one line per township and the county, the
// days with a signal marked. Without ECharts (or JavaScript) the chart hides and the table stays.
(function () {
  var el = document.getElementById('curve-chart');
  if (!el || typeof echarts === 'undefined') { if (el) { el.style.display = 'none'; } return; }
  var data = JSON.parse(el.getAttribute('data-chart') || '{}');
  if (!data.lines || !data.lines.length) { el.style.display = 'none'; return; }
  var chart = echarts.init(el);
  chart.setOption({
    title: { text: el.getAttribute('data-title'), left: 'center', textStyle: { fontSize: 14 } },
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 45, right: 30, bottom: 60, top: 40 },
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    xAxis: { type: 'category', data: data.days },
    yAxis: { type: 'value', minInterval: 1 },
    series: data.lines.map(function (line) {
      var marks = (data.signals || {})[line.code] || [];
      return {
        name: line.name, type: line.code.slice(6) === '000000' ? 'bar' : 'line', data: line.counts,
        markPoint: { symbolSize: 30, data: marks.map(function (d) {
          return { coord: [d, line.counts[data.days.indexOf(d)]], value: '!' };
        }) }
      };
    })
  });
  window.addEventListener('resize', function () { chart.resize(); });
})();
