// moved from templates/indicators/_charts.html (CSP: scripts from 'self' only)
(function () {
  var colours = { green: '#12b76a', amber: '#f79009', red: '#f04438' };
  function setup(id, build) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var data = JSON.parse(el.getAttribute('data-chart') || '[]');
    if (typeof echarts === 'undefined' || !data.length) { el.style.display = 'none'; return; }
    var decimals = parseInt(el.getAttribute('data-decimals') || '1', 10);
    var unit = el.getAttribute('data-unit') || '';
    var targetText = el.getAttribute('data-target');
    var target = targetText === '' || targetText === null ? null : parseFloat(targetText);
    var fmt = function (v) { return v == null ? '—' : v.toFixed(decimals) + unit; };
    var height = el.getAttribute('data-height');
    if (height) { el.style.height = height + 'px'; }  // CSSOM, allowed by the CSP (a style attribute is not)
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    var option = build(data, fmt);
    option.title = { text: el.getAttribute('data-title'), left: 'center', textStyle: { fontSize: 14 } };
    option.tooltip = { trigger: 'axis', valueFormatter: fmt, renderMode: 'richText' };  // no inline-styled HTML (CSP)
    option.animation = false;  // old PCs
    if (target !== null) {
      option.series[0].markLine = { symbol: 'none', silent: true, lineStyle: { type: 'dashed', color: '#0b5394' },
        label: { position: 'insideEndTop', formatter: el.getAttribute('data-target-label') + ' ' + fmt(target) },
        data: [option.yAxis.type === 'value' ? { yAxis: target } : { xAxis: target }] };
    }
    if (target !== null && option.yAxis.type === 'value') {  // keep the target line inside the chart
      option.yAxis.min = function (v) { return Math.floor(Math.min(v.min, target)); };
      option.yAxis.max = function (v) { return Math.ceil(Math.max(v.max, target)); };
    }
    chart.setOption(option);
    // A click on a bar or point opens the records behind that figure.
    chart.on('click', function (p) {
      var d = data[p.dataIndex];
      if (d && d.href) { window.location.href = d.href; }
    });
    el.setAttribute('data-rendered', '1');
    window.addEventListener('resize', function () { chart.resize(); });
  }
  setup('compare-chart', function (data, fmt) {
    var rows = data.slice().reverse();  // ECharts draws the first category at the bottom
    return {
      grid: { left: 10, right: 70, top: 50, bottom: 20, containLabel: true },
      xAxis: { type: 'value', axisLabel: { formatter: function (v) { return v; } } },
      yAxis: { type: 'category', data: rows.map(function (d) { return d.name; }), axisLabel: { interval: 0 } },
      series: [{ type: 'bar', barMaxWidth: 22,
        data: rows.map(function (d) { return { value: d.value, itemStyle: { color: colours[d.status] || '#5b8db8' } }; }),
        label: { show: true, position: 'right', formatter: function (p) { return fmt(p.value); } } }]
    };
  });
  setup('trend-chart', function (data, fmt) {
    return {
      grid: { left: 10, right: 30, top: 50, bottom: 20, containLabel: true },
      xAxis: { type: 'category', data: data.map(function (d) { return d.name; }) },
      yAxis: { type: 'value', scale: true },
      series: [{ type: 'line', connectNulls: false, symbolSize: 8,
        data: data.map(function (d) { return { value: d.value, itemStyle: { color: colours[d.status] || '#0b5394' } }; }),
        lineStyle: { color: '#0b5394' } }]
    };
  });
})();
