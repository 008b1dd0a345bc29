// Draws the dashboard's charts (Chart.js, served from node_modules at /vendor) from each
// canvas's data-chart attribute: the same numbers as the table beside it.
/* global Chart */
const palette = ['#0b63c5', '#1a7f37', '#9a6700', '#c0362c', '#6f42c1', '#0a7f86', '#8c959f', '#bf3989', '#57606a', '#d4a72c'];

for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
  const spec = JSON.parse(canvas.dataset.chart);
  const pie = spec.type === 'doughnut';
  const datasets = spec.datasets.map((d, i) => {
    const colour = palette[i % palette.length];
    return {
      label: d.label,
      data: d.data,
      backgroundColor: pie ? spec.labels.map((_, j) => palette[j % palette.length]) : spec.type === 'line' ? `${colour}55` : colour,
      borderColor: pie ? '#fff' : colour,
      borderWidth: spec.type === 'line' ? 2 : 1,
      fill: spec.stacked ? (i === 0 ? 'origin' : '-1') : false,
      pointRadius: 0,
      tension: 0.25,
    };
  });
  new Chart(canvas, {
    type: spec.type,
    data: { labels: spec.labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      indexAxis: spec.horizontal ? 'y' : 'x',
      interaction: { mode: pie ? 'point' : 'index', intersect: false },
      scales: pie ? {} : { x: { stacked: !!spec.stacked, ticks: { autoSkip: true, maxRotation: 0 } }, y: { stacked: !!spec.stacked, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { display: pie || spec.datasets.length > 1, position: pie ? 'right' : 'top' } },
    },
  });
}
