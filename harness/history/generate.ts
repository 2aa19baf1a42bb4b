/**
 * Histories with a known answer, for testing the linearizability checker and measuring it (`make bench`).
 *
 * `linearizableHistory` plays clients against one correct map: each operation takes effect at a random
 * instant inside its interval, in the order of those instants, so the history is linearizable by
 * construction. Some operations time out (outcome 'unknown'); those take effect or not, at random.
 */
import type { KvOperation } from './linearizability.ts';

export interface GenerateOptions {
  operations: number;
  keys: number;
  clients: number;
  /** Chance that an operation times out (its outcome unknown). */
  timeoutRate?: number;
  /** A number in [0, 1) from a seeded generator. */
  random: () => number;
}

export function linearizableHistory(options: GenerateOptions): KvOperation[] {
  const { random } = options;
  const int = (n: number) => Math.floor(random() * n);
  const clientClock = new Array<number>(options.clients).fill(0);
  const ops: (KvOperation & { at: number | undefined })[] = [];
  for (let id = 0; id < options.operations; id++) {
    const client = int(options.clients);
    const invoke = clientClock[client]! + int(5);
    const ret = invoke + 1 + int(30);
    const roll = random();
    const kind = roll < 0.45 ? 'get' : roll < 0.9 ? 'put' : 'delete';
    const timedOut = random() < (options.timeoutRate ?? 0);
    // A timed-out operation takes effect half the time, possibly long after its call.
    const at = timedOut ? (random() < 0.5 ? invoke + random() * 200 : undefined) : invoke + random() * (ret - invoke);
    ops.push({
      id,
      client,
      kind,
      key: `k${int(options.keys)}`,
      value: kind === 'put' ? `v${id}` : undefined,
      invoke,
      ret: timedOut ? undefined : ret,
      outcome: timedOut ? 'unknown' : 'ok',
      at,
    });
    // A client waits for its answer (or gives up at the timeout) before its next operation.
    clientClock[client] = timedOut ? invoke + 40 : ret;
  }
  const map = new Map<string, string>();
  const inOrder = ops.filter((o) => o.at !== undefined).sort((a, b) => a.at! - b.at!);
  for (const op of inOrder) {
    if (op.kind === 'put') map.set(op.key, op.value!);
    else if (op.kind === 'delete') map.delete(op.key);
    else op.output = map.get(op.key) ?? null;
  }
  return ops.map(({ at: _at, ...op }) => op);
}
