/**
 * Showing a linearizability violation: as text (for a failure block) and as one self-contained HTML page
 * that draws the window's operations as bars over time, one lane per client (in the manner of Porcupine's
 * visualization): overlapping bars are operations that ran at the same time, so a reader can look for the
 * order that the checker could not find. The page has no outside links; its script draws from the JSON
 * embedded in it.
 */
import type { KvOperation } from './linearizability.ts';
import { escapeHtml } from '../tools/escape-html.ts';

/** One line per operation, in call order: who, what, when. */
export function describeWindow(ops: readonly KvOperation[]): string {
  return [...ops]
    .sort((a, b) => a.invoke - b.invoke || a.id - b.id)
    .map((op) => `  client ${String(op.client).padEnd(3)} ${describeOperation(op).padEnd(40)} [${op.invoke} ms, ${op.ret === undefined ? 'no answer' : `${op.ret} ms`}]`)
    .join('\n');
}

export function describeOperation(op: KvOperation): string {
  const key = JSON.stringify(op.key);
  const outcome = op.outcome === 'ok' ? '' : ` (${op.outcome === 'unknown' ? 'outcome unknown' : 'failed'})`;
  switch (op.kind) {
    case 'put':
      return `put ${key} = ${JSON.stringify(op.value)}${outcome}`;
    case 'delete':
      return `delete ${key}${outcome}`;
    case 'get':
      return op.outcome === 'ok' ? `get ${key} -> ${op.output === null ? 'absent' : JSON.stringify(op.output)}` : `get ${key}${outcome}`;
  }
}

export interface HistoryPageOptions {
  title: string;
  /** Lines shown above the diagram (seed, key, replay command). */
  notes?: string[];
}

/** The page for a violation window (or any short history). */
export function historyHtml(ops: readonly KvOperation[], options: HistoryPageOptions): string {
  const data = ops.map((op) => ({
    id: op.id,
    client: op.client,
    kind: op.kind,
    label: describeOperation(op),
    invoke: op.invoke,
    ret: op.ret ?? null,
  }));
  // '<' escaped so that no value can close the script element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const notes = (options.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(options.title)}</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
  h1 { font-size: 18px; }
  .note { margin: 4px 0; font-family: ui-monospace, monospace; }
  #diagram { position: relative; margin-top: 16px; border-top: 1px solid #ccc; }
  .lane { position: relative; height: 34px; border-bottom: 1px solid #eee; }
  .lane-name { position: absolute; left: 0; top: 8px; width: 90px; color: #666; }
  .op { position: absolute; top: 5px; height: 22px; border-radius: 4px; font-size: 12px; line-height: 22px;
        padding: 0 4px; box-sizing: border-box; white-space: nowrap; overflow: hidden; color: #111; }
  .op.put { background: #cfe3ff; border: 1px solid #4a7fd0; }
  .op.delete { background: #ffd9cf; border: 1px solid #d0674a; }
  .op.get { background: #d9f2d0; border: 1px solid #5aa04a; }
  .op.open { border-right-style: dashed; background-image: linear-gradient(to right, transparent 70%, #fff); }
  .axis { position: relative; height: 20px; color: #666; font-size: 12px; }
  .tick { position: absolute; top: 2px; }
</style>
</head>
<body>
<h1>${escapeHtml(options.title)}</h1>
${notes}
<p>One lane per client; a bar runs from the call to the answer (dashed: no answer, or an attempt of a
retried write that failed: it may have taken effect at any later time, or never). Before the first bar the key may hold any value written
earlier, or none. No order of these operations, each placed somewhere inside its bar, explains every read.</p>
<div id="diagram"></div>
<script>
const ops = ${json};
const diagram = document.getElementById('diagram');
const LEFT = 100;
const start = Math.min(...ops.map((o) => o.invoke));
const finite = ops.flatMap((o) => (o.ret === null ? [o.invoke] : [o.ret]));
const end = Math.max(...finite) + Math.max(1, (Math.max(...finite) - start) * 0.15);
const width = Math.max(600, diagram.clientWidth || 900) - LEFT;
const x = (t) => LEFT + ((t - start) / (end - start || 1)) * width;
const clients = [...new Set(ops.map((o) => o.client))].sort((a, b) => a - b);
for (const client of clients) {
  const lane = document.createElement('div');
  lane.className = 'lane';
  const name = document.createElement('div');
  name.className = 'lane-name';
  name.textContent = 'client ' + client;
  lane.appendChild(name);
  for (const o of ops.filter((op) => op.client === client)) {
    const bar = document.createElement('div');
    bar.className = 'op ' + o.kind + (o.ret === null ? ' open' : '');
    bar.dataset.id = String(o.id);
    const left = x(o.invoke);
    const right = o.ret === null ? x(end) : Math.max(x(o.ret), left + 6);
    bar.style.left = left + 'px';
    bar.style.width = right - left + 'px';
    bar.textContent = o.label;
    bar.title = o.label + ' | called at ' + o.invoke + ' ms, ' + (o.ret === null ? 'no answer' : 'answered at ' + o.ret + ' ms');
    lane.appendChild(bar);
  }
  diagram.appendChild(lane);
}
const axis = document.createElement('div');
axis.className = 'axis';
for (let i = 0; i <= 4; i++) {
  const t = start + ((end - start) * i) / 4;
  const tick = document.createElement('span');
  tick.className = 'tick';
  tick.style.left = x(t) + 'px';
  tick.textContent = Math.round(t) + ' ms';
  axis.appendChild(tick);
}
diagram.appendChild(axis);
</script>
</body>
</html>
`;
}

