/**
 * Kit: the trace viewer (harness/trace-viewer/): a trace read from JSONL (malformed lines refused with the
 * file and line), and the page a real headless browser (Debian's chromium) renders from it: lanes, messages
 * paired from send to receive or drop, no script errors, and a 40,000-event trace drawn.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readTrace, traceHtml, TraceFileError } from '../../trace-viewer/viewer.ts';
import type { TraceRecord } from '../../sim/trace.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-viewer-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function render(page: string): string {
  const file = path.join(scratch, `page-${Math.random().toString(36).slice(2)}.html`);
  fs.writeFileSync(file, page);
  const chromium = execFileSync(path.join(ROOT, 'harness/tools/ensure-chromium.sh'), { encoding: 'utf8' }).trim();
  return execFileSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${file}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024, // the dump holds the embedded records
  });
}

/** A small run: 3 stores, an election, appends, a message dropped for a down store, a crash and restart. */
function smallTrace(): TraceRecord[] {
  const rows: [number, TraceRecord['k'], string, string][] = [
    [0, 'start', 's1', 'incarnation 1'],
    [0, 'start', 's2', 'incarnation 1'],
    [0, 'start', 's3', 'incarnation 1'],
    [10, 'every', 's1', 'raft tick'],
    [100, 'send', 's1', '1->2 r1 MsgRequestVote t2 lt1 i5 +10ms'],
    [100, 'send', 's1', '1->3 r1 MsgRequestVote t2 lt1 i5 +12ms'],
    [110, 'recv', 's2', '1->2 r1 MsgRequestVote t2 lt1 i5'],
    [110, 'send', 's2', '2->1 r1 MsgRequestVoteResponse t2 grant +5ms'],
    [112, 'recv', 's3', '1->3 r1 MsgRequestVote t2 lt1 i5'],
    [115, 'recv', 's1', '2->1 r1 MsgRequestVoteResponse t2 grant'],
    [120, 'send', 's1', '1->2 r1 MsgAppend t2 i5 n1 c5 +9ms'],
    [125, 'crash', 's3', 'incarnation 1; dropped 2 every'],
    [126, 'drop', 's1', '1->3 r1 MsgAppend t2 i5 n1 c5: s3 is down'],
    [129, 'recv', 's2', '1->2 r1 MsgAppend t2 i5 n1 c5'],
    [130, 'note', 'net', 'filter added: partition [1] | [2, 3]'],
    [140, 'note', 'sim', 'generic test: round 1 of 3'],
    [145, 'note', 'net', 'filter removed: partition [1] | [2, 3]'],
    [150, 'client', 'client:main', 'after put "k"'],
    [160, 'op', 'client:cli0', 'put "k" = "v" (called at 140 ms)'],
    [170, 'op', 'client:cli1', 'get "k": no answer, request timed out (called at 150 ms)'],
    [300, 'start', 's3', 'incarnation 2'],
  ];
  return rows.map(([t, k, n, d], i) => ({ i, t, k, n, d }));
}

describe('trace viewer', () => {
  it('reads a JSONL trace and refuses a malformed one, naming the line', () => {
    const good = path.join(scratch, 'good.jsonl');
    fs.writeFileSync(good, smallTrace().map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(readTrace(good)).toHaveLength(21);
    const bad = path.join(scratch, 'bad.jsonl');
    fs.writeFileSync(bad, `${JSON.stringify(smallTrace()[0])}\n{"t":1,"k":"send"}\nnot json\n`);
    expect(() => readTrace(bad)).toThrow(TraceFileError);
    expect(() => readTrace(bad)).toThrow(/bad\.jsonl:2: not a trace record/);
    expect(() => readTrace(path.join(scratch, 'missing.jsonl'))).toThrow(/cannot read the trace .*ENOENT/);
  });

  it('renders in a real browser: lanes, paired messages, message types to filter, no script errors', () => {
    const dom = render(traceHtml(smallTrace(), { title: 'TestSmall <run>', failedAt: 300 }));
    expect(dom).toContain('data-ready="yes"');
    expect(dom).toContain('<pre id="errors"></pre>');
    // 4 sends and a drop without a send: 5 messages; 2 client operations; lanes: the test's own, the clients' and 3 stores; store 1 a candidate,
    // then the leader, of term 2; one partition; store 3 down from 125 to 300 ms.
    expect(dom).toContain('21 events, 5 messages, 2 client operations, 5 lanes, 2 role changes, 1 network filters, 1 down times');
    for (const type of ['MsgAppend', 'MsgRequestVote', 'MsgRequestVoteResponse']) expect(dom).toContain(`data-type="${type}"`);
    expect(dom).toContain('<option value="3">store 3</option>');
    expect(dom).toContain('<option value="1">region 1</option>');
    expect(dom).toContain('<title>TestSmall &lt;run&gt;</title>');
  }, 120_000);

  it('draws a 40,000-event trace', () => {
    const base = smallTrace().filter((r) => r.k !== 'start' && r.k !== 'crash');
    const records: TraceRecord[] = [];
    for (let round = 0; records.length < 40_000; round++) {
      for (const r of base) records.push({ ...r, i: records.length, t: r.t + round * 200 });
    }
    const dom = render(traceHtml(records, { title: 'big' }));
    expect(dom).toContain('<pre id="errors"></pre>');
    expect(dom).toMatch(/<div id="status">4\d{4} events, \d+ messages, \d+ client operations, 5 lanes/);
    // How long the page took to read the records and draw them (virtual-time-free wall figure, for people).
    expect(dom).toMatch(/data-render-ms="\d+"/);
  }, 120_000);
});
