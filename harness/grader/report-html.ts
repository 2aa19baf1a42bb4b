/**
 * The grader's HTML report: one self-contained page (no network, no scripts needed to read it) for people.
 * Per test: a bar of passed and failed runs, the failure rate, times, points; under a failing test, its
 * failing seeds with the replay command (a button copies it) and links to the kept log and trace, which lie
 * beside the page in the grade directory.
 */
import type { GradeReport, ReportTest } from './report.ts';
import { escapeHtml as esc } from '../tools/escape-html.ts';

function bar(t: ReportTest): string {
  const passed = t.runs - t.failures;
  const pPass = t.runs === 0 ? 0 : (passed / t.runs) * 100;
  return (
    `<div class="bar" role="img" aria-label="${passed} passed, ${t.failures} failed">` +
    `<span class="pass" style="width:${pPass.toFixed(2)}%"></span><span class="fail" style="width:${(100 - pPass).toFixed(2)}%"></span></div>`
  );
}

function sec(x: number | null): string {
  return x === null ? '' : `${x.toFixed(1)} s`;
}

function failingRuns(t: ReportTest): string {
  if (t.failures === 0) return '';
  const rows = t.failingRuns
    .map(
      (r) =>
        `<li><span class="seed">seed ${r.seed}</span> <span class="err">${esc(r.error)}</span>` +
        `<div class="replay"><code>${esc(r.replay)}</code> <button type="button" data-copy="${esc(r.replay)}">copy</button></div>` +
        `<div class="files"><a href="${esc(r.log)}">log</a>${r.trace ? ` · <a href="${esc(r.trace)}">trace</a>` : ''}${r.traceHash ? ` · trace hash ${esc(r.traceHash)}` : ''}</div></li>`,
    )
    .join('');
  return `<tr class="runs"><td colspan="7"><ul>${rows}</ul></td></tr>`;
}

export function reportHtml(report: GradeReport): string {
  const rows = report.tests
    .map(
      (t) =>
        `<tr class="${t.failures > 0 ? 'failed' : 'passed'}" data-test="${esc(t.name)}"><td class="name">${esc(t.name)}<div class="file">${esc(t.file)}</div></td>` +
        `<td>${bar(t)}</td><td class="num">${t.runs}${t.seedIndependent ? '*' : ''}</td><td class="num">${t.failures}</td>` +
        `<td class="num">${(t.failureRate * 100).toFixed(1)}%</td><td class="num">${sec(t.meanVirtualSeconds)} / ${sec(t.meanWallSeconds)}</td>` +
        `<td class="num">${t.earned}/${t.points}</td></tr>${failingRuns(t)}`,
    )
    .join('\n');
  const passedTests = report.tests.filter((t) => t.failures === 0).length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Grade ${esc(report.stage)}: ${report.score.earned}/${report.score.possible}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em}
.meta{color:#555;margin-bottom:1em}
table{border-collapse:collapse;width:100%}
th,td{padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top;text-align:left}
td.num{text-align:right;white-space:nowrap}
.file{color:#777;font-size:.85em}
.bar{display:flex;width:12em;height:.9em;background:#eee;border-radius:3px;overflow:hidden;margin-top:.25em}
.bar .pass{background:#3a3}.bar .fail{background:#d33}
tr.failed .name{color:#b00;font-weight:600}
tr.runs td{background:#fff6f6;border-bottom:1px solid #ddd}
tr.runs ul{margin:0;padding-left:1.2em}
.seed{font-weight:600}.err{font-family:monospace}
.replay code{background:#f3f3f3;padding:.1em .3em}
.score{font-size:1.2em;font-weight:600}
</style></head><body>
<h1>Grade of stage ${esc(report.stage)} <span class="score" id="score">${report.score.earned}/${report.score.possible} points</span></h1>
<div class="meta">${esc(report.impl)}${report.implCommit ? ` at ${esc(report.implCommit.slice(0, 12))}${report.implDirty ? ' (with uncommitted changes)' : ''}` : ''}
 · ${report.totals.runs} runs, ${report.totals.failures} failed · ${passedTests}/${report.tests.length} tests passed every run
 · seed base ${report.seedBase}${report.swarm ? ' · swarm' : ''} · ${report.jobs} workers · ${report.wallSeconds} s
 · ${esc(report.finishedAt)}${report.stoppedEarly ? ' · <strong>stopped early</strong>' : ''}</div>
<p>A test earns its points only if every run passed. A failing run replays exactly with its command.
${report.tests.some((t) => t.seedIndependent) ? ' * never read its seed: one run decides.' : ''}</p>
<table id="tests"><thead><tr><th>test</th><th>passed / failed</th><th>runs</th><th>failed</th><th>rate</th><th>virtual / wall (mean)</th><th>points</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<script>
for (const b of document.querySelectorAll('button[data-copy]')) {
  b.addEventListener('click', () => navigator.clipboard?.writeText(b.dataset.copy).then(() => { b.textContent = 'copied'; }));
}
</script>
</body></html>
`;
}
