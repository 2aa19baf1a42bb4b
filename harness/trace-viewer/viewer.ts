/**
 * The trace viewer: turns a simulation trace (.tmp/traces/<test>-<seed>.jsonl, one record per line) into one
 * self-contained HTML page (`make trace FILE=<trace.jsonl> [OUT=<page.html>]`):
 *
 *   - a lane per store over virtual time (and one for the test's own clients and notes);
 *   - raft messages as arrows from send to receive (dropped ones end in a red x), filtered by message type,
 *     region and store;
 *   - the leader of the chosen region as a strip along its store's lane (a store that sends appends or
 *     heartbeats for the region leads it), and each store's role and term changes as labels ("r1 leader
 *     t7") when few enough are in view;
 *   - the time a store was down (crash to restart) shaded red, network filters (partitions, drop rates)
 *     shaded purple with their names;
 *   - the test clients' requests ('op' records) as bars from call to answer in a lane of their own;
 *   - the end marked (a failed test's trace ends at its failure) with a button to jump there (or open
 *     page.html#failure, or page.html#t=<ms> for another moment);
 *   - zoom (mouse wheel), pan (drag), search (highlights matching events), and a click on an event shows
 *     its fields.
 *
 * The page draws on a canvas only what is visible, so a trace of tens of thousands of events opens quickly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TraceRecord } from '../sim/trace.ts';
import { escapeHtml } from '../tools/escape-html.ts';

const PAGE_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'page.js');

export class TraceFileError extends Error {
  override name = 'TraceFileError';
}

/** Reads a JSONL trace; a malformed line is an error naming the file and line. */
export function readTrace(file: string): TraceRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TraceFileError(`cannot read the trace ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const records: TraceRecord[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let rec: TraceRecord;
    try {
      rec = JSON.parse(line) as TraceRecord;
    } catch {
      throw new TraceFileError(`${file}:${index + 1}: not a JSON record`);
    }
    if (typeof rec.t !== 'number' || typeof rec.k !== 'string' || typeof rec.n !== 'string' || typeof rec.d !== 'string') {
      throw new TraceFileError(`${file}:${index + 1}: not a trace record (needs t, k, n, d)`);
    }
    records.push(rec);
  }
  return records;
}

export interface TracePageOptions {
  title: string;
  /** Virtual time to mark as the end (a failed run's failure); default: none. */
  failedAt?: number;
}

/** The page for `records`. */
export function traceHtml(records: readonly TraceRecord[], options: TracePageOptions): string {
  // Compact rows keep the page small; '<' is escaped so no detail can end the script element.
  const data = JSON.stringify(records.map((r) => [r.i, r.t, r.k, r.n, r.d])).replace(/</g, '\\u003c');
  const meta = JSON.stringify({ failedAt: options.failedAt }).replace(/</g, '\\u003c');
  const script = fs.readFileSync(PAGE_SCRIPT, 'utf8');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(options.title)}</title>
<style>
  body { font: 13px system-ui, sans-serif; margin: 12px; color: #222; }
  h1 { font-size: 16px; margin: 0 0 8px; }
  #controls { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin-bottom: 6px; }
  #types label { margin-right: 8px; white-space: nowrap; }
  #wrap { border: 1px solid #ddd; overflow: hidden; cursor: grab; }
  #status { color: #555; margin: 4px 0; }
  #errors { color: #d0392b; }
  #details { font-family: ui-monospace, monospace; white-space: pre-wrap; background: #f6f6f6; padding: 6px; min-height: 3em; }
</style>
</head>
<body>
<h1>${escapeHtml(options.title)}</h1>
<div id="controls">
  <input id="search" type="search" placeholder="search (e.g. MsgSnapshot, r2, power cut)" size="34">
  <select id="region"><option value="">every region</option></select>
  <select id="store"><option value="">every store</option></select>
  <label><input id="ticks" type="checkbox"> periodic ticks</label>
  <button id="reset" type="button">whole run</button>
  <button id="failure" type="button">jump to the end (a failure)</button>
</div>
<div id="types"></div>
<div id="status">loading...</div>
<div id="wrap"><canvas id="canvas" width="1000" height="300"></canvas></div>
<p>Wheel: zoom; drag: pan; click an event for its fields. Arrows run from send to receive; a red x is a
dropped message; the yellow strip marks the leader of the chosen region; red shading: a store was down;
purple shading: a network filter (partition, drops) was in place. In the clients lane, a bar per request of a
test client, from its call to its answer (red: no answer came), one row per client. Notes (the test's rounds, the scheduler's
view of the regions: epochs, splits, conf changes) sit in the test lane: search for them.</p>
<div id="details"></div>
<pre id="errors"></pre>
<script>window.addEventListener('error', (e) => { document.getElementById('errors').textContent += e.message + '\n'; });</script>
<script id="trace-meta" type="application/json">${meta}</script>
<script id="trace-data" type="application/json">${data}</script>
<script>
${script}
</script>
</body>
</html>
`;
}


/** `make trace FILE=... [OUT=...]`: writes the page next to the trace (or to OUT) and prints its path. */
function main(argv: string[]): number {
  const [file, out] = argv;
  if (file === undefined || file === '--help' || file === '-h') {
    console.error('usage: make trace FILE=<trace.jsonl> [OUT=<page.html>]   (traces: .tmp/traces/<test>-<seed>.jsonl)');
    return 2;
  }
  try {
    const records = readTrace(file);
    const target = out ?? file.replace(/\.jsonl$/, '') + '.html';
    const failed = path.basename(file).replace(/\.jsonl$/, '');
    const last = records[records.length - 1];
    fs.writeFileSync(target, traceHtml(records, { title: `trace of ${failed} (${records.length} events)`, failedAt: last?.t }));
    console.log(`trace viewer: wrote ${target} (${records.length} events); open it in a browser (add #failure to the address to start at the end)`);
    return 0;
  } catch (err) {
    if (err instanceof TraceFileError) {
      console.error(`trace viewer: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(main(process.argv.slice(2)));
}
