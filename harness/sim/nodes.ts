/**
 * The life cycle of the simulation's nodes (stores): register, start, crash, restart.
 *
 * Each start builds a fresh incarnation of the node with its spec's start function, on a runtime of its own
 * (SimNodeRuntime, node-runtime.ts). A crash throws away everything the incarnation had pending (timers,
 * queued jobs, background tasks, messages on their way to it: the event loop skips events of a dead
 * incarnation) and then calls the spec's kill hook, which closes what a dying process would release.
 */
import type { Job } from '@impl/runtime/runtime.ts';
import type { SeededRandom } from '@impl/util/prng.ts';
import { SimUsageError } from './errors.ts';
import type { EventLoop } from './event-loop.ts';
import { SimNodeRuntime } from './node-runtime.ts';
import type { TraceKind } from './trace.ts';

/** How a node is built and torn down. */
export interface NodeSpec<T> {
  /** Name in traces (default `s<id>`). */
  name?: string;
  /**
   * Build a fresh incarnation of the node on `rt` (open its engines, register its handlers, start its ticks).
   * Called by startNode and restart.
   */
  start(rt: SimNodeRuntime): T | Promise<T>;
  /**
   * Release what a dying process would release by dying: close engine handles so the next incarnation can open
   * them. No graceful shutdown logic — a crash gives the node no chance to tidy up.
   */
  kill?(instance: T): void | Promise<void>;
}

/** One life of a node, from start to crash. Work it scheduled dies with it. */
export class Incarnation {
  alive = true;
  constructor(
    readonly node: NodeState,
    readonly number: number,
  ) {}
}

interface NodeState {
  readonly id: number;
  readonly name: string;
  readonly spec: NodeSpec<unknown>;
  current: Incarnation | undefined;
  instance: unknown;
  incarnations: number;
}

/** Every registered node and its current incarnation. */
export class SimNodes {
  private readonly nodes = new Map<number, NodeState>();

  constructor(
    private readonly loop: EventLoop,
    /** Hands each new incarnation its own random stream (forked from the seed with the node id). */
    private readonly forkRandom: (label: number) => SeededRandom,
  ) {}

  /** Register node `id` (down until startNode). */
  addNode<T>(id: number, spec: NodeSpec<T>): SimNode<T> {
    if (!Number.isInteger(id) || id < 0) throw new SimUsageError(`node id must be a non-negative integer, got ${id}`);
    if (this.nodes.has(id)) throw new SimUsageError(`node ${id} is already registered`);
    const state: NodeState = {
      id,
      name: spec.name ?? `s${id}`,
      spec: spec as NodeSpec<unknown>,
      current: undefined,
      instance: undefined,
      incarnations: 0,
    };
    this.nodes.set(id, state);
    return new SimNode<T>(this, id, state.name);
  }

  /** Ids of every registered node, ascending. */
  nodeIds(): number[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  /** The trace name of node `id`, or undefined if it is not registered. */
  nodeName(id: number): string | undefined {
    return this.nodes.get(id)?.name;
  }

  isUp(id: number): boolean {
    return this.requireNode(id).current !== undefined;
  }

  /** The running instance of node `id` (what its spec's start returned). Throws if it is down. */
  instance<T>(id: number): T {
    const node = this.requireNode(id);
    if (node.current === undefined) throw new SimUsageError(`node ${node.name} is down`);
    return node.instance as T;
  }

  /**
   * Schedule work on node `nodeId`'s current incarnation, `delayMs` from now. Returns false (and schedules
   * nothing) if the node is down. Used by the network for deliveries.
   */
  scheduleOnNode(nodeId: number, delayMs: number, kind: TraceKind, detail: string, run: Job): boolean {
    const node = this.nodes.get(nodeId);
    const inc = node?.current;
    if (node === undefined || inc === undefined) return false;
    this.loop.schedule(delayMs, kind, node.name, detail, inc, undefined, run);
    return true;
  }

  /** Start node `id` (it must be down): a fresh incarnation, built by its spec. */
  async startNode<T = unknown>(id: number): Promise<T> {
    this.loop.checkCaller('sim.startNode');
    const node = this.requireNode(id);
    if (node.current !== undefined) throw new SimUsageError(`node ${node.name} is already up`);
    const inc = new Incarnation(node, ++node.incarnations);
    node.current = inc;
    const rt = new SimNodeRuntime(this.loop, this, inc, this.forkRandom(id));
    this.loop.record('start', node.name, `incarnation ${inc.number}`);
    try {
      node.instance = await node.spec.start(rt);
    } catch (err) {
      inc.alive = false;
      node.current = undefined;
      node.instance = undefined;
      throw err;
    }
    return node.instance as T;
  }

  /**
   * Crash node `id`: it stops at once. Its timers, queued jobs, background tasks and the messages on their
   * way to it are thrown away; its runtime goes dead (later calls through it do nothing); then its spec's
   * kill hook releases its engine handles. Crashing a node that is down does nothing.
   */
  async crash(id: number): Promise<void> {
    this.loop.checkCaller('sim.crash');
    const node = this.requireNode(id);
    const inc = node.current;
    if (inc === undefined) return;
    if (this.loop.currentNodeEvent()?.incarnation === inc) {
      this.crashInEvent(inc, 'sim.crash called from its own event');
      return;
    }
    const kill = this.markCrashed(node, inc);
    await kill();
  }

  /**
   * Crash the node whose event is running now, at this very point of the event (a power cut in the middle of
   * a handler): what it sent so far is on the wire, what it has not yet written is lost. The rest of the
   * event still runs to its end (JavaScript cannot stop it), but its runtime is dead from here on: sends,
   * timers and posts do nothing, and harness engine wrappers should refuse writes once `rt.alive` is false.
   * An error the event throws after this point is expected and only noted. The kill hook runs when the
   * event has finished. Called through SimNodeRuntime.crashNow.
   */
  crashInEvent(inc: Incarnation, reason: string): void {
    if (this.loop.currentNodeEvent()?.incarnation !== inc) {
      throw new SimUsageError(`crashNow must be called from an event of ${inc.node.name} itself; use sim.crash otherwise`);
    }
    if (!inc.alive) return;
    this.loop.record('note', inc.node.name, `power cut: ${reason}`);
    this.loop.runAfterThisEvent(this.markCrashed(inc.node, inc));
  }

  /** Crash node `id` if it is up, then start it again. */
  async restart<T = unknown>(id: number): Promise<T> {
    await this.crash(id);
    return this.startNode<T>(id);
  }

  /** Mark an incarnation dead, trace what it loses, and return its kill hook (to run when safe). */
  private markCrashed(node: NodeState, inc: Incarnation): () => Promise<void> {
    inc.alive = false;
    node.current = undefined;
    const instance = node.instance;
    node.instance = undefined;
    const lost = new Map<string, number>();
    for (const ev of this.loop.pendingEvents()) {
      if (ev.incarnation === inc && !ev.cancelled) lost.set(ev.kind, (lost.get(ev.kind) ?? 0) + 1);
    }
    const summary = [...lost]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
    this.loop.record('crash', node.name, `incarnation ${inc.number}; dropped ${summary || 'nothing'}`);
    return async () => {
      await node.spec.kill?.(instance);
    };
  }

  private requireNode(id: number): NodeState {
    const node = this.nodes.get(id);
    if (node === undefined) throw new SimUsageError(`no node ${id} (registered: ${this.nodeIds().join(', ') || 'none'})`);
    return node;
  }
}

/** A handle on a registered node, for tests. */
export class SimNode<T> {
  constructor(
    private readonly nodes: SimNodes,
    readonly id: number,
    readonly name: string,
  ) {}

  get up(): boolean {
    return this.nodes.isUp(this.id);
  }

  /** The running instance (throws if the node is down). */
  get instance(): T {
    return this.nodes.instance<T>(this.id);
  }

  start(): Promise<T> {
    return this.nodes.startNode<T>(this.id);
  }

  crash(): Promise<void> {
    return this.nodes.crash(this.id);
  }

  restart(): Promise<T> {
    return this.nodes.restart<T>(this.id);
  }
}
