/**
 * A linearizability checker for key-value histories (Get, Put, Delete on single keys).
 *
 * A history is linearizable if every operation can be given one instant between its invocation and its
 * return such that, taken in the order of those instants, the operations behave like a plain map: each Get
 * answers the value of the latest Put before it (or "absent" after a Delete, or at the start). Keys are
 * independent, so each key's operations are checked on their own (linearizability is compositional), which
 * keeps the search small.
 *
 * The search follows Lowe's "just-in-time linearization" as Porcupine implements it: walk the events in time
 * order; at a call, try to linearize that operation now (its effect on the register is legal and this
 * combination of done operations and register value was not seen before); at a return whose operation is not
 * linearized yet, undo the last choice. A history is linearizable when every operation with a known return is
 * linearized.
 *
 * Operations with an unknown outcome (a request that timed out) may or may not have taken effect: a write may
 * take effect at any point after its call, or never; a read tells nothing and is left out. An operation whose
 * outcome is 'error' is known not to have taken effect and is left out too (record 'unknown' when in doubt).
 * An unknown write matters only while someone can still see it: past the last answer of a read that returned
 * its value (null for a delete), taking effect is the same as never taking effect, since no read is left to
 * see it. So each unknown write gets that answer as its deadline: the search places it before the deadline or
 * drops it there, and one that no read could see is left out at once. Without deadlines every unknown write
 * stays open to the end of the history, and a few dozen of them make the search explode.
 *
 * The search is exponential in the worst case: `maxSteps` bounds it (deterministically) and the answer is then
 * 'unknown'.
 */

/** One client operation as the test recorded it. Times are virtual milliseconds. */
export interface KvOperation {
  /** Unique within the history (used in reports). */
  id: number;
  client: number;
  kind: 'get' | 'put' | 'delete';
  key: string;
  /** The value a put writes. */
  value?: string;
  invoke: number;
  /** When the answer came; undefined when it never came (outcome 'unknown'). */
  ret?: number;
  outcome: 'ok' | 'error' | 'unknown';
  /** What an ok get read: a value, or null when the key was absent. */
  output?: string | null;
}

export type CheckResult =
  | { verdict: 'ok'; keys: number; operations: number; steps: number }
  | { verdict: 'unknown'; keys: number; operations: number; steps: number; key: string }
  | { verdict: 'violation'; keys: number; operations: number; steps: number; key: string; window: KvOperation[] };

export interface CheckOptions {
  /** Search steps allowed over the whole history (default 5,000,000). */
  maxSteps?: number;
}

/** The register's value; ANY_VALUE stands for "any value written before this window" (see findWindow). */
type Value = string | null;
const ANY_VALUE = Symbol('any value');
type State = Value | typeof ANY_VALUE;

interface Entry {
  op: Operation;
  isCall: boolean;
  /** The call's return entry. */
  match?: Entry;
  /** The return's call entry. */
  call?: Entry;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/**
 * An operation prepared for the search: dense index, return time; for an unknown write, its deadline (see
 * the module comment), at which the search may drop it (`optional`).
 */
interface Operation {
  index: number;
  source: KvOperation;
  invoke: number;
  ret: number;
  optional: boolean;
  /**
   * Optional writes of the same value (or deletes) are interchangeable but for their call times: any order of
   * them can be rearranged so that they take effect in call order, and those dropped are the latest called.
   * So each may be linearized only after the one called just before it (`after`, its index), which keeps the
   * search from trying every subset of a retried write's attempts.
   */
  after: number | undefined;
}

class StepBudget {
  used = 0;
  constructor(readonly max: number) {}
  spend(): boolean {
    this.used++;
    return this.used <= this.max;
  }
}

/** Checks a whole history, key by key. */
export function checkKvHistory(history: readonly KvOperation[], options: CheckOptions = {}): CheckResult {
  validateHistory(history);
  const budget = new StepBudget(options.maxSteps ?? 5_000_000);
  const byKey = new Map<string, KvOperation[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const keys = [...byKey.keys()].sort();
  const base = { keys: keys.length, operations: history.length };
  let unknownKey: string | undefined;
  for (const key of keys) {
    const ops = byKey.get(key)!;
    const answer = linearizable(prepare(ops), null, budget);
    if (answer === 'unknown') {
      unknownKey ??= key;
      continue;
    }
    if (!answer) {
      const window = findWindow(ops, budget) ?? ops.filter(counts);
      return { verdict: 'violation', ...base, steps: budget.used, key, window };
    }
  }
  if (unknownKey !== undefined) return { verdict: 'unknown', ...base, steps: budget.used, key: unknownKey };
  return { verdict: 'ok', ...base, steps: budget.used };
}

function validateHistory(history: readonly KvOperation[]): void {
  const ids = new Set<number>();
  for (const op of history) {
    const where = `operation ${op.id} (${op.kind} ${JSON.stringify(op.key)})`;
    if (ids.has(op.id)) throw new Error(`history: ${where}: the id is used twice`);
    ids.add(op.id);
    if (op.kind === 'put' && op.value === undefined) throw new Error(`history: ${where}: a put needs a value`);
    if (op.outcome !== 'unknown' && op.ret === undefined) throw new Error(`history: ${where}: an ${op.outcome} operation needs a return time`);
    if (op.ret !== undefined && op.ret < op.invoke) throw new Error(`history: ${where}: returns at ${op.ret}, before its call at ${op.invoke}`);
    if (op.kind === 'get' && op.outcome === 'ok' && op.output === undefined) {
      throw new Error(`history: ${where}: an ok get needs its output (null when the key was absent)`);
    }
  }
}

/** Whether an operation takes part in the search: errors did not happen; unanswered reads say nothing. */
function counts(op: KvOperation): boolean {
  if (op.outcome === 'error') return false;
  if (op.outcome === 'unknown' && op.kind === 'get') return false;
  return true;
}

function prepare(ops: readonly KvOperation[]): Operation[] {
  // The last answer of a read that returned each value (null: absent).
  const lastRead = new Map<Value, number>();
  for (const op of ops) {
    if (op.kind !== 'get' || op.outcome !== 'ok') continue;
    const read = op.output ?? null;
    lastRead.set(read, Math.max(lastRead.get(read) ?? -Infinity, op.ret!));
  }
  const prepared: Operation[] = [];
  for (const source of ops) {
    if (!counts(source)) continue;
    if (source.outcome !== 'unknown') {
      prepared.push({ index: prepared.length, source, invoke: source.invoke, ret: source.ret!, optional: false, after: undefined });
      continue;
    }
    const deadline = lastRead.get(source.kind === 'put' ? source.value! : null) ?? -Infinity;
    // No read could see it: as if it never happened.
    if (deadline < source.invoke) continue;
    prepared.push({ index: prepared.length, source, invoke: source.invoke, ret: deadline, optional: true, after: undefined });
  }
  const lastOfClass = new Map<string, Operation>();
  const optional = prepared.filter((op) => op.optional).sort((a, b) => a.invoke - b.invoke || a.index - b.index);
  for (const op of optional) {
    const cls = op.source.kind === 'put' ? `=${op.source.value}` : '-';
    op.after = lastOfClass.get(cls)?.index;
    lastOfClass.set(cls, op);
  }
  return prepared;
}

/** Applies `op` to the register: the new state, or undefined if the operation cannot happen in `state`. */
function step(state: State, op: KvOperation, anyOf: ReadonlySet<Value> | undefined): State | undefined {
  switch (op.kind) {
    case 'put':
      return op.value!;
    case 'delete':
      return null;
    case 'get': {
      const read = op.output ?? null;
      if (state === ANY_VALUE) return anyOf!.has(read) ? read : undefined;
      return read === state ? state : undefined;
    }
  }
}

/**
 * Lowe's search over one key's operations. `initial` is the register at the start (ANY_VALUE: any of
 * `anyOf`). Returns true, false, or 'unknown' when the budget ran out.
 */
function linearizable(ops: Operation[], initial: State, budget: StepBudget, anyOf?: ReadonlySet<Value>): boolean | 'unknown' {
  const head = buildEntries(ops);
  const done = new Uint8Array(ops.length);
  // Linearized (done and not dropped): what an optional operation's `after` must be.
  const linearized = new Uint8Array(ops.length);
  const seen = new Set<string>();
  // Each choice made: an operation linearized at `entry`, or an optional one dropped at its deadline.
  const stack: { entry: Entry; state: State; dropped: boolean }[] = [];
  let state = initial;
  let entry = head.next;
  while (head.next !== undefined) {
    if (!budget.spend()) return 'unknown';
    if (entry === undefined) return false; // cannot happen: a return entry always follows its call
    if (entry.isCall) {
      const after = entry.op.after;
      const next = after !== undefined && linearized[after] === 0 ? undefined : step(state, entry.op.source, anyOf);
      if (next !== undefined) {
        done[entry.op.index] = 1;
        const key = cacheKey(done, next);
        if (!seen.has(key)) {
          seen.add(key);
          linearized[entry.op.index] = 1;
          stack.push({ entry, state, dropped: false });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        done[entry.op.index] = 0;
      }
      entry = entry.next;
      continue;
    }
    // The deadline of an optional operation not linearized yet: drop it (the other choice for it, an
    // earlier place, belongs to the branches that backtracking explores).
    const call = entry.op.index;
    if (entry.op.optional) {
      done[call] = 1;
      const key = cacheKey(done, state);
      if (!seen.has(key)) {
        seen.add(key);
        const callEntry = entry.call!;
        stack.push({ entry: callEntry, state, dropped: true });
        lift(callEntry);
        entry = head.next;
        continue;
      }
      done[call] = 0;
    }
    // A return whose operation is not linearized yet: undo choices up to the last linearization, and try
    // the next candidate after it.
    let top = stack.pop();
    while (top !== undefined && top.dropped) {
      done[top.entry.op.index] = 0;
      state = top.state;
      unlift(top.entry);
      top = stack.pop();
    }
    if (top === undefined) return false;
    done[top.entry.op.index] = 0;
    linearized[top.entry.op.index] = 0;
    state = top.state;
    unlift(top.entry);
    entry = top.entry.next;
  }
  return true;
}

function cacheKey(done: Uint8Array, state: State): string {
  let bits = '';
  for (let i = 0; i < done.length; i += 16) {
    let word = 0;
    for (let j = i; j < Math.min(i + 16, done.length); j++) word = (word << 1) | done[j]!;
    bits += String.fromCharCode(word + 0x100);
  }
  return `${bits}|${state === ANY_VALUE ? '*' : state === null ? '-' : `=${state}`}`;
}

/** The events in time order (calls before returns at the same instant: such operations overlap). */
function buildEntries(ops: Operation[]): Entry {
  const events: Entry[] = [];
  for (const op of ops) {
    const ret: Entry = { op, isCall: false, prev: undefined, next: undefined };
    const call: Entry = { op, isCall: true, match: ret, prev: undefined, next: undefined };
    ret.call = call;
    events.push(call, ret);
  }
  const time = (e: Entry) => (e.isCall ? e.op.invoke : e.op.ret);
  events.sort((a, b) => time(a) - time(b) || Number(b.isCall) - Number(a.isCall) || a.op.index - b.op.index);
  const head: Entry = { op: undefined as unknown as Operation, isCall: false, prev: undefined, next: undefined };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Takes a call and its return out of the list. */
function lift(call: Entry): void {
  const ret = call.match!;
  call.prev!.next = call.next;
  if (call.next !== undefined) call.next.prev = call.prev;
  ret.prev!.next = ret.next;
  if (ret.next !== undefined) ret.next.prev = ret.prev;
}

/** Puts them back (in the reverse order of lift). */
function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== undefined) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== undefined) call.next.prev = call;
}

/**
 * The smallest stretch of one key's operations that is not linearizable by itself, to show instead of the
 * whole history. Cuts fall only at quiet instants (every operation invoked before the cut has returned before
 * any operation after it is invoked), so no operation left out could have taken effect inside the stretch;
 * the register at the start of a stretch may hold null or any value written before it. Writes with an unknown
 * outcome before the stretch could take effect inside it, so they are kept. Undefined if the budget ran out.
 */
function findWindow(ops: readonly KvOperation[], budget: StepBudget): KvOperation[] | undefined {
  const sorted = ops.filter(counts).sort((a, b) => a.invoke - b.invoke || a.id - b.id);
  // cuts[i] is true when a stretch may begin at sorted[i] (and one may end just before it).
  const cuts: boolean[] = [];
  let latestReturn = -Infinity;
  for (const op of sorted) {
    cuts.push(latestReturn < op.invoke);
    latestReturn = Math.max(latestReturn, op.outcome === 'unknown' ? -Infinity : op.ret!);
  }
  cuts[0] = true;
  const points = [...cuts.keys()].filter((i) => cuts[i]).concat(sorted.length);
  const fails = (from: number, to: number): boolean | undefined => {
    const before = sorted.slice(0, from);
    const anyOf = new Set<Value>([null, ...before.filter((o) => o.kind === 'put').map((o) => o.value!)]);
    const pending = before.filter((o) => o.outcome === 'unknown');
    const stretch = [...pending, ...sorted.slice(from, to)];
    const answer = linearizable(prepare(stretch), from === 0 ? null : ANY_VALUE, budget, anyOf);
    return answer === 'unknown' ? undefined : !answer;
  };
  // The shortest failing prefix ends at the first cut point where the prefix fails...
  let end: number | undefined;
  for (const p of points.slice(1)) {
    const f = fails(0, p);
    if (f === undefined) return undefined;
    if (f) {
      end = p;
      break;
    }
  }
  if (end === undefined) return undefined;
  // ...and the latest start that still fails before that end gives the window.
  let start = 0;
  for (const p of points) {
    if (p >= end) break;
    const f = fails(p, end);
    if (f === undefined) break;
    if (f) start = p;
  }
  const pending = sorted.slice(0, start).filter((o) => o.outcome === 'unknown');
  return [...pending, ...sorted.slice(start, end)];
}
