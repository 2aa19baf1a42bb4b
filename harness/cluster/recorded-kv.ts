/**
 * Key-value requests through the test cluster that are also recorded: into a history for the linearizability
 * checker (harness/history), and into the trace as 'op' records (one per request, with its result and the
 * time it was called) for the failure block and the trace viewer.
 *
 * Keys and values are text here. A scan is recorded as a read of each key the caller names (absent when the
 * scan did not find it). checkHistory runs the checker with a step budget and, on a violation, writes the
 * smallest failing window as an HTML diagram next to the test's trace and throws a ClusterCheckError that
 * prints the window.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkKvHistory, type CheckResult, type KvOperation } from '../history/linearizability.ts';
import { HistoryRecorder } from '../history/recorder.ts';
import { describeWindow, historyHtml } from '../history/history-html.ts';
import { RETENTION, prune } from '../retention.ts';
import { traceDir, type Sim } from '../sim/index.ts';
import type { Cluster } from './cluster.ts';
import { ClusterCheckError } from './errors.ts';
import { bytes, text } from './keys.ts';

/** Search steps the end-of-test check may spend (about a second here); beyond it the verdict is 'unknown'. */
export const HISTORY_CHECK_STEPS = 5_000_000;

export class RecordedKv {
  readonly history: HistoryRecorder;

  constructor(
    private readonly cluster: Cluster,
    private readonly sim: Sim,
  ) {
    this.history = new HistoryRecorder(() => sim.now());
  }

  async put(client: number, key: string, value: string): Promise<void> {
    await this.traced(client, () => `put ${JSON.stringify(key)} = ${JSON.stringify(value)}`, () =>
      this.history.put(client, key, value, (unsettled) => this.cluster.mustPut(bytes(key), bytes(value), unsettled)),
    );
  }

  async delete(client: number, key: string): Promise<void> {
    await this.traced(client, () => `delete ${JSON.stringify(key)}`, () =>
      this.history.delete(client, key, (unsettled) => this.cluster.mustDelete(bytes(key), unsettled)),
    );
  }

  /** The value of `key`, or null when it has none. */
  async get(client: number, key: string): Promise<string | null> {
    let value: string | null = null;
    await this.traced(client, (answered) => `get ${JSON.stringify(key)}${answered ? ` -> ${value === null ? 'absent' : JSON.stringify(value)}` : ''}`, async () => {
      value = await this.history.get(client, key, async () => {
        const got = await this.cluster.get(bytes(key));
        return got.length === 0 ? null : text(got);
      });
    });
    return value;
  }

  /**
   * The pairs in [start, end), in key order; each key of `recorded` is recorded as read (absent if not found).
   */
  async scan(client: number, start: string, end: string, recorded: readonly string[]): Promise<[string, string][]> {
    let pairs: [string, string][] = [];
    await this.traced(client, (answered) => `scan [${JSON.stringify(start)}, ${JSON.stringify(end)})${answered ? ` -> ${pairs.length} keys` : ''}`, async () => {
      await this.history.scan(client, recorded, async () => {
        pairs = (await this.cluster.scanPairs(bytes(start), bytes(end))).map((p): [string, string] => [text(p.key), text(p.value)]);
        return new Map(pairs);
      });
    });
    return pairs;
  }

  /**
   * Checks the history so far and fails the test on a violation (see the module comment). Prints the verdict
   * with the seed unless `quiet` (a check between rounds, so that a violation stops the test early); 'unknown'
   * (the budget ran out) is printed, not a failure.
   */
  checkHistory(quiet = false): CheckResult {
    const ops = this.history.operations();
    const result = checkKvHistory(ops, { maxSteps: HISTORY_CHECK_STEPS });
    const counts = `${result.operations} operations on ${result.keys} keys, ${result.steps} search steps`;
    if (quiet && result.verdict !== 'violation') return result;
    if (result.verdict === 'ok') {
      console.log(`[sim] linearizability: ok (${counts}); seed ${this.sim.seed}`);
      return result;
    }
    if (result.verdict === 'unknown') {
      console.log(`[sim] linearizability: unknown, the search budget ran out on key ${JSON.stringify(result.key)} (${counts}); seed ${this.sim.seed}`);
      return result;
    }
    const page = this.writeDiagram(result.window, result.key);
    this.sim.note(`linearizability violation on key ${JSON.stringify(result.key)}`);
    throw new ClusterCheckError(
      `linearizability violation on key ${JSON.stringify(result.key)} (seed ${this.sim.seed}): no order of these ` +
        `${result.window.length} operations, each taking effect at one instant between its call and its answer, ` +
        `explains what the reads returned (${counts}):\n${describeWindow(result.window)}\n  diagram: ${page}\n` +
        `  in the trace viewer (see below): add #t=${Math.min(...result.window.map((op) => op.invoke))} to the page's address to go to them`,
    );
  }

  /** Writes the window's diagram next to the trace (or into the trace directory) and returns its path. */
  private writeDiagram(window: KvOperation[], key: string): string {
    const file =
      this.sim.trace.file !== undefined
        ? this.sim.trace.file.replace(/\.jsonl$/, '') + '.history.html'
        : path.join(traceDir(), `history-${this.sim.seed}.html`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      historyHtml(window, {
        title: `Linearizability violation on ${JSON.stringify(key)}`,
        notes: [`seed ${this.sim.seed}`, `key ${JSON.stringify(key)}: the smallest window of operations that no order explains`],
      }),
    );
    prune(path.dirname(file), RETENTION.traces, [path.basename(file), ...(this.sim.trace.file ? [path.basename(this.sim.trace.file)] : [])]);
    return path.relative(process.cwd(), file);
  }

  /** Runs one request and puts it in the trace with its result (or 'no answer' and the error). */
  private async traced(client: number, describe: (answered: boolean) => string, run: () => Promise<void>): Promise<void> {
    const invoke = this.sim.now();
    try {
      await run();
    } catch (err) {
      const why = (err as Error).message.split('\n')[0];
      this.sim.record('op', `client:cli${client}`, `${describe(false)}: no answer, ${why} (called at ${invoke} ms)`);
      throw err;
    }
    this.sim.record('op', `client:cli${client}`, `${describe(true)} (called at ${invoke} ms)`);
  }
}
