/**
 * Records client operations into a history for the linearizability checker: each operation's call and answer
 * times (virtual ms, from the clock it is given), its key, what it wrote or read, and its outcome.
 *
 *   const history = new HistoryRecorder(() => sim.now());
 *   await history.put(client, 'k', 'v', () => cluster.mustPut(...));
 *   const v = await history.get(client, 'k', () => cluster.get(...));          // string | null
 *   await history.scan(client, ['a', 'b'], () => scanAsMap(...));              // each key: a read
 *   const result = checkKvHistory(history.operations());
 *
 * An operation that throws (a timeout, or any other error) may or may not have taken effect: the recorder
 * cannot know whether a failed request changed anything. It is recorded with outcome 'unknown' (a write may
 * land at any later time or never; a read tells nothing) and the error goes on to the caller.
 */
import type { KvOperation } from './linearizability.ts';

export class HistoryRecorder {
  private readonly ops: KvOperation[] = [];

  constructor(private readonly now: () => number) {}

  /** Everything recorded so far, in call order. */
  operations(): KvOperation[] {
    return [...this.ops];
  }

  get size(): number {
    return this.ops.length;
  }

  async put(client: number, key: string, value: string, run: () => Promise<unknown>): Promise<void> {
    const op = this.begin(client, 'put', key, value);
    await this.finish(op, run);
  }

  async delete(client: number, key: string, run: () => Promise<unknown>): Promise<void> {
    const op = this.begin(client, 'delete', key);
    await this.finish(op, run);
  }

  /** A read of one key: `run` resolves to the value, or null when the key is absent. */
  async get(client: number, key: string, run: () => Promise<string | null>): Promise<string | null> {
    const op = this.begin(client, 'get', key);
    const value = await this.finish(op, run);
    op.output = value;
    return value;
  }

  /**
   * A scan, recorded as one read per key of `keys` (all at the scan's call and answer times): `run` resolves
   * to the pairs it found; a key of `keys` it did not find was read as absent. Keys found outside `keys` are
   * not recorded.
   */
  async scan(client: number, keys: readonly string[], run: () => Promise<ReadonlyMap<string, string>>): Promise<ReadonlyMap<string, string>> {
    const reads = keys.map((key) => this.begin(client, 'get', key));
    let found: ReadonlyMap<string, string>;
    try {
      found = await run();
    } catch (err) {
      for (const op of reads) this.fail(op);
      throw err;
    }
    const ret = this.now();
    for (const op of reads) {
      op.ret = ret;
      op.outcome = 'ok';
      op.output = found.get(op.key) ?? null;
    }
    return found;
  }

  private begin(client: number, kind: KvOperation['kind'], key: string, value?: string): KvOperation {
    const op: KvOperation = { id: this.ops.length, client, kind, key, invoke: this.now(), outcome: 'unknown' };
    if (value !== undefined) op.value = value;
    this.ops.push(op);
    return op;
  }

  private async finish<T>(op: KvOperation, run: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await run();
    } catch (err) {
      this.fail(op);
      throw err;
    }
    op.ret = this.now();
    op.outcome = 'ok';
    return result;
  }

  /** No answer: the operation may or may not have happened. */
  private fail(op: KvOperation): void {
    op.outcome = 'unknown';
    delete op.ret;
  }
}
