// moved from templates/immunization/recall/coverage.html (CSP: scripts from 'self' only)
(function () {
  var el = document.getElementById('coverage-chart');
  if (!el || typeof echarts === 'undefined') { if (el) { el.style.display = 'none'; } return; }
  var data = JSON.parse(el.getAttribute('data-chart') || '[]');
  if (!data.length) { el.style.display = 'none'; return; }
  var colours = { green: '#12b76a', amber: '#f79009', red: '#f04438' };
  var chart = echarts.init(el);
  chart.setOption({
    title: { text: el.getAttribute('data-title'), left: 'center', textStyle: { fontSize: 14 } },
    grid: { left: 45, right: 45, bottom: 70, top: 40 },
    tooltip: { trigger: 'axis', renderMode: 'richText', valueFormatter: function (v) { return v == null ? '—' : v.toFixed(1) + '%'; } },
    xAxis: { type: 'category', data: data.map(function (d) { return d.name; }), axisLabel: { rotate: 35, interval: 0 } },
    yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
    series: [{
      type: 'bar',
      data: data.map(function (d) { return { value: d.value, itemStyle: { color: colours[d.rag] || '#9fb3c8' } }; }),
      markLine: { symbol: 'none', data: [{ yAxis: parseFloat(el.getAttribute('data-target')) }],
                  lineStyle: { type: 'dashed', color: '#0b5394' }, label: { formatter: '90%' } }
    }]
  });
  window.addEventListener('resize', function () { chart.resize(); });
})();
