/**
 * The simulated network between nodes: it implements the Transport interface of reference/runtime for each
 * node, and decides the fate of every message with the simulation's seed.
 *
 * A message sent by node `from` to node `to`:
 *   1. passes through the filters in the order they were added; the first filter that drops it wins
 *      (a drop is traced with the filter's name);
 *   2. otherwise gets a latency drawn from the network's own random stream — uniform in
 *      [minLatencyMs, maxLatencyMs], plus, with probability reorderProbability, an extra delay up to
 *      reorderExtraMs (so later messages overtake it: long reordering);
 *   3. is delivered as an event of the receiver's current incarnation, running its inbound handler to
 *      completion. If the receiver crashes before then, the delivery is thrown away with its other work.
 * Filters are applied when a message is sent: a partition installed later does not catch messages already
 * on the wire.
 */
import type { InboundHandler, RandomSource, Transport } from '@impl/runtime/runtime.ts';
import type { SeededRandom } from '@impl/util/prng.ts';
import { SimUsageError } from './errors.ts';
import type { SimNodeRuntime } from './node-runtime.ts';
import type { Sim } from './sim.ts';

/** Whether a message asks for something or answers (so drop rates can differ, as in 6.824's labrpc). */
export type MessageKind = 'request' | 'reply';

/** A message on the wire, as filters see it. */
export interface Envelope<M> {
  readonly from: number;
  readonly to: number;
  readonly msg: M;
  /** From the network's classify function; undefined when it cannot tell. */
  readonly kind: MessageKind | undefined;
}

/** Decides, message by message, whether to drop. */
export interface Filter<M> {
  /** Shown in the trace for each message it drops. */
  readonly name: string;
  /** True to drop. Random choices must use `random` (the network's seeded stream). */
  drop(envelope: Envelope<M>, random: RandomSource): boolean;
}

/** What addFilter returns. */
export interface FilterHandle {
  /** Take the filter out; later messages are no longer subject to it. */
  remove(): void;
  /** How many messages this filter has dropped so far. */
  readonly dropped: number;
}

export interface NetworkOptions<M> {
  /** Smallest latency in ms (default 1). */
  minLatencyMs?: number;
  /** Largest latency in ms (default 10). */
  maxLatencyMs?: number;
  /** Probability that a message is held back for an extra delay (default 0). */
  reorderProbability?: number;
  /** Upper bound of that extra delay in ms (default 100). */
  reorderExtraMs?: number;
  /** Short text for a message in the trace, e.g. "MsgAppend r1 t3 i5..7". Must be deterministic. */
  describe?: (msg: M) => string;
  /** Request or reply (undefined: cannot tell). Lets filters drop requests and replies at different rates. */
  classify?: (msg: M) => MessageKind | undefined;
  /**
   * Copy a message on send, so sender and receiver never share objects (e.g. an encode/decode round trip,
   * which also proves the message survives the wire format). Default: the same object is delivered.
   */
  copy?: (msg: M) => M;
}

/** Counters over the whole run. */
export interface NetworkStats {
  sent: number;
  dropped: number;
  delivered: number;
}

interface Listener<M> {
  rt: SimNodeRuntime;
  handler: InboundHandler<M>;
}

interface InstalledFilter<M> {
  filter: Filter<M>;
  dropped: number;
}

export class SimNetwork<M> {
  readonly stats: NetworkStats = { sent: 0, dropped: 0, delivered: 0 };
  private readonly random: SeededRandom;
  private readonly filters: InstalledFilter<M>[] = [];
  private readonly listeners = new Map<number, Listener<M>>();
  private readonly minLatency: number;
  private readonly maxLatency: number;
  private readonly reorderProbability: number;
  private readonly reorderExtra: number;
  private readonly describe: (msg: M) => string;
  private readonly classify: (msg: M) => MessageKind | undefined;
  private readonly copy: ((msg: M) => M) | undefined;

  /** `label` seeds the network's own random stream; give two networks of one sim different labels. */
  constructor(
    private readonly sim: Sim,
    options: NetworkOptions<M> = {},
    label = 0x6e6574,
  ) {
    this.minLatency = options.minLatencyMs ?? 1;
    this.maxLatency = options.maxLatencyMs ?? 10;
    if (!(Number.isInteger(this.minLatency) && Number.isInteger(this.maxLatency) && 0 <= this.minLatency && this.minLatency <= this.maxLatency)) {
      throw new SimUsageError(`latency range must be integers with 0 <= min <= max, got [${this.minLatency}, ${this.maxLatency}]`);
    }
    this.reorderProbability = options.reorderProbability ?? 0;
    this.reorderExtra = options.reorderExtraMs ?? 100;
    if (!(this.reorderProbability >= 0 && this.reorderProbability <= 1)) {
      throw new SimUsageError(`reorderProbability must be in [0, 1], got ${this.reorderProbability}`);
    }
    if (!(Number.isInteger(this.reorderExtra) && this.reorderExtra >= 0)) {
      throw new SimUsageError(`reorderExtraMs must be a non-negative integer, got ${this.reorderExtra}`);
    }
    this.describe = options.describe ?? defaultDescribe;
    this.classify = options.classify ?? (() => undefined);
    this.copy = options.copy;
    this.random = sim.forkRandom(label);
  }

  /** The Transport for the node incarnation running on `rt`. Call it in the node's start function. */
  transport(rt: SimNodeRuntime): Transport<M> {
    const from = rt.nodeId;
    return {
      send: (toStore, msg) => {
        this.sim.checkCaller('transport.send');
        if (!rt.alive) return; // code of a crashed incarnation: its process is gone
        this.send(rt.name, from, toStore, msg);
      },
      listen: (handler) => {
        if (!rt.alive) return;
        this.listeners.set(from, { rt, handler });
      },
    };
  }

  /** Add a filter; it applies to every message sent from now on until removed. */
  addFilter(filter: Filter<M>): FilterHandle {
    const installed: InstalledFilter<M> = { filter, dropped: 0 };
    this.filters.push(installed);
    this.sim.note(`filter added: ${filter.name}`, 'net');
    return {
      remove: () => {
        const at = this.filters.indexOf(installed);
        if (at < 0) return;
        this.filters.splice(at, 1);
        this.sim.note(`filter removed: ${filter.name}`, 'net');
      },
      get dropped() {
        return installed.dropped;
      },
    };
  }

  /** Remove every filter (TinyKV's ClearFilters). */
  clearFilters(): void {
    if (this.filters.length === 0) return;
    this.filters.length = 0;
    this.sim.note('filters cleared', 'net');
  }

  /** Names of the filters in force, in order. */
  filterNames(): string[] {
    return this.filters.map((f) => f.filter.name);
  }

  private send(senderName: string, from: number, to: number, msg: M): void {
    this.stats.sent++;
    const text = `${from}->${to} ${this.describe(msg)}`;
    const envelope: Envelope<M> = { from, to, msg, kind: this.classify(msg) };
    for (const installed of this.filters) {
      if (installed.filter.drop(envelope, this.random)) {
        installed.dropped++;
        this.stats.dropped++;
        this.sim.record('drop', senderName, `${text} by ${installed.filter.name}`);
        return;
      }
    }
    const receiverName = this.sim.nodeName(to);
    if (receiverName === undefined) {
      this.stats.dropped++;
      this.sim.record('drop', senderName, `${text}: no node ${to}`);
      return;
    }
    let latency = this.minLatency + this.random.nextInt(this.maxLatency - this.minLatency + 1);
    if (this.reorderProbability > 0 && this.random.nextFloat() < this.reorderProbability) {
      latency += this.random.nextInt(this.reorderExtra + 1);
    }
    const payload = this.copy === undefined ? msg : this.copy(msg);
    const scheduled = this.sim.scheduleOnNode(to, latency, 'recv', text, () => this.deliver(from, to, payload));
    if (!scheduled) {
      this.stats.dropped++;
      this.sim.record('drop', senderName, `${text}: ${receiverName} is down`);
      return;
    }
    this.sim.record('send', senderName, `${text} +${latency}ms`);
  }

  private deliver(from: number, to: number, msg: M): void | Promise<void> {
    const listener = this.listeners.get(to);
    if (listener === undefined || !listener.rt.alive) {
      // The receiver is up but has not called listen(): the message is lost, as on a closed port.
      this.stats.dropped++;
      this.sim.note(`lost ${from}->${to}: ${this.sim.nodeName(to)} is not listening`, 'net');
      return;
    }
    this.stats.delivered++;
    return listener.handler(msg, from);
  }
}

function defaultDescribe(msg: unknown): string {
  if (typeof msg === 'object' && msg !== null) {
    const fields = msg as Record<string, unknown>;
    for (const key of ['msgType', 'type', 'kind']) {
      const value = fields[key];
      if (typeof value === 'string' || typeof value === 'number') return String(value);
    }
  }
  return typeof msg === 'string' ? msg : 'msg';
}
