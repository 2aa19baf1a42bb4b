// The trace viewer's page script (inlined into the page by viewer.ts; plain browser JavaScript, no imports).
// It reads the records embedded as JSON ([i, t, k, n, d] each), derives lanes, messages, leaders and crashes,
// and draws the visible stretch of virtual time on a canvas, so that tens of thousands of events stay quick.
/* global document, window, requestAnimationFrame */
(function main() {
  const started = performance.now();
  const meta = JSON.parse(document.getElementById('trace-meta').textContent);
  const raw = JSON.parse(document.getElementById('trace-data').textContent);
  const records = raw.map(([i, t, k, n, d]) => ({ i, t, k, n, d }));

  // Lanes: one for the test's own actors (the simulation, client steps), one for the clients' operations (if
  // the test recorded any), then one per store (s1, s2, ...).
  const storeNames = [...new Set(records.map((r) => r.n).filter((n) => /^s\d+$/.test(n)))].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  const hasOps = records.some((r) => r.k === 'op');
  const lanes = ['test', ...(hasOps ? ['clients'] : []), ...storeNames];
  const laneOf = (name) => (/^s\d+$/.test(name) ? lanes.indexOf(name) : 0);
  const laneOfRecord = (r) => (r.k === 'op' ? 1 : laneOf(r.n));
  const storeLane = (id) => lanes.indexOf('s' + id);

  // Client operations ('op' records, written when an operation ends): a bar from its call to its answer.
  const CALLED_AT = /\(called at (\d+) ms\)$/;
  const ops = [];
  for (const r of records) {
    if (r.k !== 'op') continue;
    const called = CALLED_AT.exec(r.d);
    const client = /(\d+)$/.exec(r.n);
    ops.push({ r, from: called ? Number(called[1]) : r.t, client: client ? Number(client[1]) : 0, failed: r.d.includes(': no answer') });
  }

  // Messages: "from->to rR MsgType ..." on send, recv and drop records; a send is paired with the first later
  // receive or drop of the same text (the send carries its latency as a last "+Nms" word, a drop its reason).
  const MESSAGE = /^(\d+)->(\d+) r(\d+) (Msg\w+)/;
  const messages = [];
  const waiting = new Map();
  for (const r of records) {
    if (r.k !== 'send' && r.k !== 'recv' && r.k !== 'drop') continue;
    const m = MESSAGE.exec(r.d);
    if (m === null) continue;
    r.msg = { from: Number(m[1]), to: Number(m[2]), region: Number(m[3]), type: m[4] };
    const text = r.d.replace(/ \+\d+ms$/, '').replace(/: .*$/, '');
    if (r.k === 'send') {
      const entry = { send: r, recv: undefined, dropped: false };
      messages.push(entry);
      if (!waiting.has(text)) waiting.set(text, []);
      waiting.get(text).push(entry);
    } else {
      const queue = waiting.get(text);
      const entry = queue && queue.shift();
      if (entry === undefined) {
        // A message the network refused at once (its receiver is down, a filter): a drop without a send.
        if (r.k === 'drop') messages.push({ send: r, recv: undefined, dropped: true });
        continue;
      }
      if (r.k === 'recv') entry.recv = r;
      else entry.dropped = true;
      r.pair = entry;
    }
  }

  // Leaders: a store that sends appends or heartbeats for a region at a term leads it then.
  const leaderSpans = new Map(); // region -> [{ store, term, from, to }]
  for (const r of records) {
    if (r.k !== 'send' || !r.msg || (r.msg.type !== 'MsgAppend' && r.msg.type !== 'MsgHeartbeat')) continue;
    const term = Number((/ t(\d+)/.exec(r.d) || [])[1] || 0);
    const spans = leaderSpans.get(r.msg.region) || [];
    leaderSpans.set(r.msg.region, spans);
    const last = spans[spans.length - 1];
    if (last && last.store === r.msg.from && last.term === term) last.to = r.t;
    else spans.push({ store: r.msg.from, term, from: r.t, to: r.t });
  }

  // Role and term changes, as a store's own messages show them: a vote request at a new term (candidate),
  // the first append or heartbeat at a term (leader).
  const roleMarks = [];
  const lastRole = new Map(); // "store/region" -> "role term"
  for (const r of records) {
    if (r.k !== 'send' || !r.msg) continue;
    const role = r.msg.type === 'MsgRequestVote' ? 'candidate' : r.msg.type === 'MsgAppend' || r.msg.type === 'MsgHeartbeat' ? 'leader' : undefined;
    if (role === undefined) continue;
    const term = Number((/ t(\d+)/.exec(r.d) || [])[1] || 0);
    const key = r.msg.from + '/' + r.msg.region;
    const text = role + ' t' + term;
    if (lastRole.get(key) === text) continue;
    lastRole.set(key, text);
    roleMarks.push({ t: r.t, lane: storeLane(r.msg.from), region: r.msg.region, text: 'r' + r.msg.region + ' ' + text });
  }

  // Down time: from a crash of a store to its next start.
  const downSpans = [];
  const downSince = new Map();
  for (const r of records) {
    if (r.k === 'crash') downSince.set(r.n, r.t);
    if (r.k === 'start' && downSince.has(r.n)) {
      downSpans.push({ lane: laneOf(r.n), from: downSince.get(r.n), to: r.t });
      downSince.delete(r.n);
    }
  }
  const endTime = records.length ? records[records.length - 1].t : 0;
  for (const [name, from] of downSince) downSpans.push({ lane: laneOf(name), from, to: endTime });

  // Network filters (partitions, drop rates): from "filter added: NAME" to its removal (or "filters cleared").
  const filterSpans = [];
  const openFilters = [];
  for (const r of records) {
    if (r.k !== 'note' || r.n !== 'net') continue;
    const added = /^filter added: (.*)$/.exec(r.d);
    const removed = /^filter removed: (.*)$/.exec(r.d);
    if (added) openFilters.push({ name: added[1], from: r.t });
    else if (removed) {
      const at = openFilters.findIndex((f) => f.name === removed[1]);
      if (at >= 0) filterSpans.push({ ...openFilters.splice(at, 1)[0], to: r.t });
    } else if (r.d === 'filters cleared') {
      for (const f of openFilters.splice(0)) filterSpans.push({ ...f, to: r.t });
    }
  }
  for (const f of openFilters) filterSpans.push({ ...f, to: endTime });

  // Controls.
  const types = [...new Set(messages.map((m) => m.send.msg.type))].sort();
  const regions = [...new Set(messages.map((m) => m.send.msg.region))].sort((a, b) => a - b);
  const typeBox = document.getElementById('types');
  for (const type of types) {
    const label = document.createElement('label');
    label.innerHTML = '<input type="checkbox" checked> ';
    label.firstChild.dataset.type = type;
    label.append(type);
    typeBox.append(label);
  }
  const regionSelect = document.getElementById('region');
  for (const region of regions) regionSelect.append(new Option('region ' + region, String(region)));
  const storeSelect = document.getElementById('store');
  for (const name of storeNames) storeSelect.append(new Option('store ' + name.slice(1), name.slice(1)));

  const view = { from: 0, to: Math.max(1, endTime), selected: undefined, search: '' };
  const canvas = document.getElementById('canvas');
  const ctx = canvas.getContext('2d');
  const LANE_H = 46;
  const LEFT = 70;
  const TOP = 24;

  function filters() {
    const shownTypes = new Set([...typeBox.querySelectorAll('input:checked')].map((i) => i.dataset.type));
    return {
      types: shownTypes,
      region: regionSelect.value === '' ? undefined : Number(regionSelect.value),
      store: storeSelect.value === '' ? undefined : Number(storeSelect.value),
      ticks: document.getElementById('ticks').checked,
      search: document.getElementById('search').value.trim().toLowerCase(),
    };
  }

  function messageShown(msg, f) {
    if (!f.types.has(msg.type)) return false;
    if (f.region !== undefined && msg.region !== f.region) return false;
    if (f.store !== undefined && msg.from !== f.store && msg.to !== f.store) return false;
    return true;
  }

  function recordShown(r, f) {
    if (r.msg) return messageShown(r.msg, f);
    if (r.k === 'every' && !f.ticks) return false;
    if (f.store !== undefined && r.n !== 's' + f.store && /^s\d+$/.test(r.n)) return false;
    return true;
  }

  const x = (t) => LEFT + ((t - view.from) / (view.to - view.from)) * (canvas.width - LEFT - 10);
  const y = (lane) => TOP + lane * LANE_H + LANE_H / 2;
  const opRows = Math.max(1, Math.min(8, new Set(ops.map((op) => op.client)).size));
  // Each client's bars in a row of the clients lane; the text fits under the bar only with few rows.
  const opRowHeight = (LANE_H - 4) / opRows;
  const opTextFits = opRowHeight >= 14;
  const opY = (r) => {
    const client = /(\d+)$/.exec(r.n);
    const row = (client ? Number(client[1]) : 0) % opRows;
    return y(1) - LANE_H / 2 + 4 + row * opRowHeight;
  };
  const COLORS = { op: '#16a085', send: '#4a7fd0', recv: '#5aa04a', drop: '#d0392b', crash: '#d0392b', start: '#2e8b57', note: '#8e44ad', client: '#b9770e', post: '#888', spawn: '#888', every: '#ccc', timer: '#aaa' };
  let drawn = [];

  function draw() {
    const f = filters();
    canvas.width = Math.max(600, canvas.parentElement.clientWidth);
    canvas.height = TOP + lanes.length * LANE_H + 10;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.font = '12px system-ui, sans-serif';
    // Lanes and down time.
    lanes.forEach((name, lane) => {
      ctx.fillStyle = lane % 2 ? '#fafafa' : '#fff';
      ctx.fillRect(0, y(lane) - LANE_H / 2, canvas.width, LANE_H);
      ctx.fillStyle = '#333';
      ctx.fillText(name === 'test' || name === 'clients' ? name : 'store ' + name.slice(1), 6, y(lane) + 4);
    });
    for (const span of downSpans) {
      ctx.fillStyle = 'rgba(208, 57, 43, 0.12)';
      ctx.fillRect(x(span.from), y(span.lane) - LANE_H / 2, Math.max(2, x(span.to) - x(span.from)), LANE_H);
    }
    filterSpans.forEach((span, n) => {
      if (span.to < view.from || span.from > view.to) return;
      ctx.fillStyle = 'rgba(142, 68, 173, 0.07)';
      ctx.fillRect(x(span.from), TOP, Math.max(2, x(span.to) - x(span.from)), lanes.length * LANE_H);
      ctx.fillStyle = 'rgba(142, 68, 173, 0.8)';
      ctx.fillText(span.name, Math.max(LEFT, x(span.from)) + 2, TOP + 10 + (n % 3) * 11);
    });
    // Leader of the chosen region (or of region 1): a strip along the leader's lane.
    const region = f.region !== undefined ? f.region : regions[0];
    for (const span of leaderSpans.get(region) || []) {
      const lane = storeLane(span.store);
      if (lane < 0 || span.to < view.from || span.from > view.to) continue;
      ctx.fillStyle = 'rgba(241, 196, 15, 0.55)';
      ctx.fillRect(x(span.from), y(lane) + LANE_H / 2 - 6, Math.max(2, x(span.to) - x(span.from)), 4);
    }
    // Role and term marks, when few enough are in view to read.
    const marks = roleMarks.filter((m) => m.t >= view.from && m.t <= view.to && (f.region === undefined || m.region === f.region));
    if (marks.length <= 60) {
      ctx.fillStyle = '#7d6608';
      for (const m of marks) ctx.fillText(m.text, x(m.t) + 2, y(m.lane) - LANE_H / 2 + 11);
    }
    // Client operations: a bar per operation from call to answer, a row per client (red: no answer); the
    // operation's text once the bar is wide enough to read it.
    for (const op of ops) {
      if (op.r.t < view.from || op.from > view.to || !recordShown(op.r, f)) continue;
      const x1 = Math.max(LEFT, x(op.from));
      const width = Math.max(2, x(op.r.t) - x1 - 1); // a gap between one request and the next
      const top = opY(op.r);
      ctx.fillStyle = matches(op.r, f) ? '#e67e22' : op.failed ? 'rgba(208,57,43,0.7)' : 'rgba(22,160,133,0.6)';
      ctx.fillRect(x1, top, width, 3);
      if (opTextFits && width > 120) {
        ctx.save();
        ctx.beginPath();
        ctx.rect(x1, top + 3, width - 2, opRowHeight - 3);
        ctx.clip();
        ctx.fillStyle = '#0e6655';
        ctx.font = '11px system-ui, sans-serif';
        ctx.fillText(op.r.d.replace(CALLED_AT, ''), x1 + 2, top + 13);
        ctx.restore();
      }
    }
    // Messages as arrows, events as dots.
    drawn = [];
    ctx.lineWidth = 1;
    for (const m of messages) {
      const s = m.send;
      const end = m.recv ? m.recv.t : s.t;
      if (end < view.from || s.t > view.to || !messageShown(s.msg, f)) continue;
      const from = storeLane(s.msg.from);
      const to = storeLane(s.msg.to);
      if (from < 0 || to < 0) continue;
      const hit = matches(s, f) || (m.recv && matches(m.recv, f));
      ctx.strokeStyle = hit ? '#e67e22' : m.dropped ? 'rgba(208,57,43,0.6)' : 'rgba(74,127,208,0.45)';
      ctx.beginPath();
      ctx.moveTo(x(s.t), y(from));
      const x2 = m.recv ? x(m.recv.t) : x(s.t) + 8;
      const y2 = m.recv ? y(to) : y(from) + (to > from ? 10 : -10);
      ctx.lineTo(x2, y2);
      ctx.stroke();
      if (m.dropped) {
        ctx.fillStyle = '#d0392b';
        ctx.fillText('x', x2 - 3, y2 + 4);
      }
    }
    for (const r of records) {
      if (r.t < view.from || r.t > view.to || !recordShown(r, f)) continue;
      const px = x(r.t);
      const py = r.k === 'op' ? opY(r) + 1 : y(laneOfRecord(r)) + (r.k === 'recv' ? 0 : r.k === 'send' ? 0 : -12);
      const hit = matches(r, f);
      ctx.fillStyle = hit ? '#e67e22' : COLORS[r.k] || '#555';
      const size = hit || r.k === 'crash' || r.k === 'start' || r.k === 'note' ? 4 : 2;
      ctx.fillRect(px - size / 2, py - size / 2, size, size);
      drawn.push({ r, px, py });
    }
    if (meta.failedAt !== undefined) {
      ctx.strokeStyle = '#d0392b';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x(meta.failedAt), TOP - 6);
      ctx.lineTo(x(meta.failedAt), canvas.height);
      ctx.stroke();
      ctx.fillStyle = '#d0392b';
      const label = x(meta.failedAt) + 30 > canvas.width ? x(meta.failedAt) - 26 : x(meta.failedAt) + 4;
      ctx.fillText('end', label, TOP - 8);
    }
    // Time axis.
    ctx.fillStyle = '#666';
    for (let i = 0; i <= 5; i++) {
      const t = view.from + ((view.to - view.from) * i) / 5;
      ctx.fillText(Math.round(t) + ' ms', Math.min(x(t) - 10, canvas.width - 70), 12);
    }
    const shownCount = drawn.length;
    document.getElementById('status').textContent =
      records.length + ' events, ' + messages.length + ' messages, ' + ops.length + ' client operations, ' + lanes.length + ' lanes, ' + roleMarks.length + ' role changes, ' +
      filterSpans.length + ' network filters, ' + downSpans.length + ' down times; showing ' + shownCount +
      ' events from ' + Math.round(view.from) + ' to ' + Math.round(view.to) + ' ms';
  }

  function matches(r, f) {
    return f.search !== '' && (r.d.toLowerCase().includes(f.search) || r.n.toLowerCase().includes(f.search));
  }

  function show(r) {
    const fields = { index: r.i, 'virtual time': r.t + ' ms', kind: r.k, who: r.n, detail: r.d };
    if (r.msg) Object.assign(fields, { from: 'store ' + r.msg.from, to: 'store ' + r.msg.to, region: r.msg.region, type: r.msg.type });
    if (r.pair && r.pair.send !== r) fields.sent = r.pair.send.t + ' ms (event ' + r.pair.send.i + ')';
    const pair = messages.find((m) => m.send === r);
    if (pair) fields.delivered = pair.recv ? pair.recv.t + ' ms (event ' + pair.recv.i + ')' : pair.dropped ? 'dropped' : 'never (in flight at the end)';
    const box = document.getElementById('details');
    box.innerHTML = '';
    for (const [k, v] of Object.entries(fields)) {
      const row = document.createElement('div');
      const key = document.createElement('b');
      key.textContent = k + ': ';
      row.append(key, String(v));
      box.append(row);
    }
  }

  let pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  }

  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    const rect = canvas.getBoundingClientRect();
    const at = view.from + ((e.clientX - rect.left - LEFT) / (canvas.width - LEFT - 10)) * (view.to - view.from);
    const factor = e.deltaY > 0 ? 1.25 : 0.8;
    const span = Math.max(1, Math.min(endTime || 1, (view.to - view.from) * factor));
    view.from = Math.max(0, at - (at - view.from) * (span / (view.to - view.from)));
    view.to = view.from + span;
    redraw();
  }, { passive: false });
  let dragging;
  canvas.addEventListener('mousedown', (e) => (dragging = { x: e.clientX, from: view.from, to: view.to, moved: false }));
  window.addEventListener('mouseup', () => (dragging = undefined));
  canvas.addEventListener('mousemove', (e) => {
    if (!dragging) return;
    const dt = ((e.clientX - dragging.x) / (canvas.width - LEFT - 10)) * (dragging.to - dragging.from);
    if (Math.abs(e.clientX - dragging.x) > 3) dragging.moved = true;
    view.from = Math.max(0, dragging.from - dt);
    view.to = view.from + (dragging.to - dragging.from);
    redraw();
  });
  canvas.addEventListener('click', (e) => {
    const rect = canvas.getBoundingClientRect();
    const cx = e.clientX - rect.left;
    const cy = e.clientY - rect.top;
    let best;
    let bestD = 64;
    for (const d of drawn) {
      const dist = (d.px - cx) ** 2 + (d.py - cy) ** 2;
      if (dist < bestD) {
        best = d;
        bestD = dist;
      }
    }
    if (best) show(best.r);
  });
  document.getElementById('reset').addEventListener('click', () => {
    view.from = 0;
    view.to = Math.max(1, endTime);
    redraw();
  });
  document.getElementById('failure').addEventListener('click', () => {
    const at = meta.failedAt !== undefined ? meta.failedAt : endTime;
    view.from = Math.max(0, at - 300);
    view.to = at + 50;
    redraw();
  });
  for (const id of ['region', 'store', 'ticks', 'search']) document.getElementById(id).addEventListener('input', redraw);
  typeBox.addEventListener('change', redraw);
  window.addEventListener('resize', redraw);

  // page.html#failure opens zoomed on the failure; page.html#t=1200 on the given virtual time.
  const hash = window.location.hash.slice(1);
  const at = hash === 'failure' ? (meta.failedAt !== undefined ? meta.failedAt : endTime) : Number((/^t=(\d+)$/.exec(hash) || [])[1]);
  if (Number.isFinite(at)) {
    view.from = Math.max(0, at - 300);
    view.to = at + 50;
  }
  draw();
  document.body.dataset.renderMs = String(Math.round(performance.now() - started));
  document.body.dataset.ready = 'yes';
})();
