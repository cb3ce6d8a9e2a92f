// People counting (in/out per 5 minutes, hour or day; occupancy; CSV) and the heat map of where people were.
import { api, esc } from './api.js';

const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16);

function drawChart(canvas, rows, bucket) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width = canvas.clientWidth * devicePixelRatio, h = canvas.height = canvas.clientHeight * devicePixelRatio;
  ctx.fillStyle = '#181b22'; ctx.fillRect(0, 0, w, h);
  if (!rows.length) return;
  const peak = Math.max(1, ...rows.map((r) => Math.max(r.in, r.out)));
  const slot = w / rows.length, bar = Math.max(1, slot * 0.4), base = h - 18 * devicePixelRatio;
  ctx.font = `${10 * devicePixelRatio}px system-ui`;
  rows.forEach((r, i) => {
    const x = i * slot + slot * 0.1;
    ctx.fillStyle = '#3f9f6f'; ctx.fillRect(x, base - (r.in / peak) * (base - 12), bar, (r.in / peak) * (base - 12));
    ctx.fillStyle = '#e5484d'; ctx.fillRect(x + bar, base - (r.out / peak) * (base - 12), bar, (r.out / peak) * (base - 12));
    if (rows.length <= 31 || i % Math.ceil(rows.length / 24) === 0) {
      const d = new Date(r.start_ms);
      ctx.fillStyle = '#9aa3b2';
      ctx.fillText(bucket === '1d' ? d.toLocaleDateString() : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), x, h - 4);
    }
  });
}

export async function renderPeople(view, params) {
  const cameras = (await api('/api/cameras')).filter((c) => c.analytics);
  if (!cameras.length) { view.innerHTML = '<p class="muted">No analysed camera. Turn analytics on for a camera and draw a counting line on the Rules page.</p>'; return; }
  const now = Date.now();
  view.innerHTML = `<div class="toolbar">
      <label>Camera <select id="p-cam">${cameras.map((c) => `<option value="${esc(c.id)}">${esc(c.name)}</option>`).join('')}</select></label>
      <label>From <input id="p-from" type="datetime-local" value="${local(now - 86400000)}"></label>
      <label>To <input id="p-to" type="datetime-local" value="${local(now + 60000)}"></label>
      <label>Per <select id="p-bucket"><option value="5m">5 minutes</option><option value="1h" selected>hour</option><option value="1d">day</option></select></label>
      <button id="p-go">Show</button> <a id="p-csv" href="#" download>CSV</a></div>
    <div class="panel"><strong>Counting</strong> <span id="p-totals"></span>
      <span class="muted"> — <span style="color:#3f9f6f">■</span> in <span style="color:#e5484d">■</span> out</span>
      <canvas id="p-chart" class="chart"></canvas></div>
    <div class="panel"><strong>Heat map</strong> <span id="p-heat-info" class="muted"></span><br>
      <img id="p-heat" alt="heat map" class="heatmap" hidden></div>`;
  const $ = (s) => view.querySelector(s);
  if (params.get('camera')) $('#p-cam').value = params.get('camera');
  const load = async () => {
    const cam = encodeURIComponent($('#p-cam').value);
    const q = `start=${new Date($('#p-from').value).getTime()}&end=${new Date($('#p-to').value).getTime()}`;
    const bucket = $('#p-bucket').value;
    const c = await api(`/api/cameras/${cam}/counts?${q}&bucket=${bucket}`);
    const occ = Object.entries(c.occupancy).map(([rule, n]) => `${esc(rule)}: <b class="occ" data-rule="${esc(rule)}">${n}</b> inside${c.maximum[rule] ? ` (max ${c.maximum[rule]})` : ''}`).join(' · ');
    $('#p-totals').innerHTML = `in <b id="p-in">${c.total_in}</b> · out <b id="p-out">${c.total_out}</b>${occ ? ` · ${occ}` : ' · <span class="muted">no counting line: draw one on the Rules page</span>'}`;
    drawChart($('#p-chart'), c.rows, bucket);
    $('#p-csv').href = `/api/cameras/${cam}/counts?${q}&bucket=${bucket}&format=csv`;
    const heat = await api(`/api/cameras/${cam}/heatmap?${q}`);
    $('#p-heat-info').textContent = heat.seconds ? `${Math.round(heat.seconds)} s of presence` : 'nobody seen in this time';
    $('#p-heat').hidden = !heat.seconds;
    if (heat.seconds) $('#p-heat').src = `/api/cameras/${cam}/heatmap.png?${q}&t=${Date.now()}`;
  };
  $('#p-go').onclick = load;
  $('#p-cam').onchange = load;
  await load();
}
