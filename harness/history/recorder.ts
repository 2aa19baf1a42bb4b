/**
 * Records client operations into a history for the linearizability checker: each operation's call and answer
 * times (virtual ms, from the clock it is given), its key, what it wrote or read, and its outcome.
 *
 *   const history = new HistoryRecorder(() => sim.now());
 *   await history.put(client, 'k', 'v', (unsettled) => cluster.mustPut(k, v, unsettled));
 *   const v = await history.get(client, 'k', () => cluster.get(...));          // string | null
 *   await history.scan(client, ['a', 'b'], () => scanAsMap(...));              // each key: a read
 *   const result = checkKvHistory(history.operations());
 *
 * An operation that throws (a timeout, or any other error) may or may not have taken effect: the recorder
 * cannot know whether a failed request changed anything. It is recorded with outcome 'unknown' (a write may
 * land at any later time or never; a read tells nothing) and the error goes on to the caller.
 *
 * A write retried by the client is several proposals, each of which may take effect: `run` is handed a
 * callback to call for every attempt that may have taken effect without success (the cluster client's
 * UnsettledAttempt); each becomes one more write of the same value with outcome 'unknown', called at the
 * attempt's time. Otherwise a retry applied twice around another client's write would look like a bug.
 */
import type { KvOperation } from './linearizability.ts';

/** Called for each attempt of a write that may have taken effect without success (see above). */
export type OnUnsettledAttempt = (sentAt: number) => void;

export class HistoryRecorder {
  private readonly ops: KvOperation[] = [];

  /**
   * `now`: the clock (virtual ms). `onFinished`: told of each operation once its outcome is known (a test
   * puts it in the trace; an unsettled attempt is told when it is recorded).
   */
  constructor(
    private readonly now: () => number,
    private readonly onFinished?: (op: KvOperation) => void,
  ) {}

  /** Everything recorded so far, in call order. */
  operations(): KvOperation[] {
    return [...this.ops];
  }

  get size(): number {
    return this.ops.length;
  }

  async put(client: number, key: string, value: string, run: (unsettled: OnUnsettledAttempt) => Promise<unknown>): Promise<void> {
    const op = this.begin(client, 'put', key, value);
    await this.finish(op, () => run((sentAt) => this.unsettled(op, sentAt)));
  }

  async delete(client: number, key: string, run: (unsettled: OnUnsettledAttempt) => Promise<unknown>): Promise<void> {
    const op = this.begin(client, 'delete', key);
    await this.finish(op, () => run((sentAt) => this.unsettled(op, sentAt)));
  }

  /** A read of one key: `run` resolves to the value, or null when the key is absent. */
  async get(client: number, key: string, run: () => Promise<string | null>): Promise<string | null> {
    const op = this.begin(client, 'get', key);
    return this.finish(op, run, (value) => (op.output = value));
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
      this.onFinished?.(op);
    }
    return found;
  }

  private begin(client: number, kind: KvOperation['kind'], key: string, value?: string): KvOperation {
    const op: KvOperation = { id: this.ops.length, client, kind, key, invoke: this.now(), outcome: 'unknown' };
    if (value !== undefined) op.value = value;
    this.ops.push(op);
    return op;
  }

  private async finish<T>(op: KvOperation, run: () => Promise<T>, fillIn?: (result: T) => void): Promise<T> {
    let result: T;
    try {
      result = await run();
    } catch (err) {
      this.fail(op);
      throw err;
    }
    op.ret = this.now();
    op.outcome = 'ok';
    fillIn?.(result);
    this.onFinished?.(op);
    return result;
  }

  /** One attempt of the write `op` that may have taken effect: a write of its own, outcome unknown. */
  private unsettled(op: KvOperation, sentAt: number): void {
    const attempt: KvOperation = { id: this.ops.length, client: op.client, kind: op.kind, key: op.key, invoke: sentAt, outcome: 'unknown' };
    if (op.value !== undefined) attempt.value = op.value;
    this.ops.push(attempt);
    this.onFinished?.(attempt);
  }

  /** No answer: the operation may or may not have happened. */
  private fail(op: KvOperation): void {
    op.outcome = 'unknown';
    delete op.ret;
    this.onFinished?.(op);
  }
}
