/**
 * The deterministic simulation: a discrete-event scheduler over a virtual clock, in one object for tests.
 *
 * How it stays deterministic
 *   - Every piece of work is an event in one queue ordered by (virtual time, sequence number): timers, posted
 *     jobs, background tasks, message deliveries (network.ts) and client actor steps.
 *   - Exactly one event runs at a time, and the scheduler awaits its handler's promise — including engine I/O
 *     that really is asynchronous — before it starts the next one. The real time an await takes never changes
 *     what happens next; only the seed does.
 *   - Randomness comes from one seed: each node, the network and the test get their own forked stream.
 *   - Code that escapes its event (a promise nobody awaited, finishing later during someone else's event) is
 *     caught when it calls the runtime: each event runs in its own async context (AsyncLocalStorage), and a
 *     runtime call from the wrong context fails the run with SimStrayContinuationError.
 *
 * Sim puts together the parts, each in a file of its own:
 *   event-loop.ts    the virtual clock and the event loop (and the checks on it: stray code, livelock, stuck)
 *   nodes.ts         nodes (stores): start, crash, restart; a crash throws away everything the node had pending
 *   node-runtime.ts  the Runtime a node sees (SimNodeRuntime)
 *   clients.ts       client actors: the test's own code (sim.main, sim.spawnClient), waiting in virtual time
 *                    with sim.sleep, sim.waitUntil and sim.waitFor
 */
import { checkDelay, type Job } from '@impl/runtime/runtime.ts';
import { SeededRandom } from '@impl/util/prng.ts';
import { SimClients, type ClientHandle, type WaitOptions } from './clients.ts';
import { SimDeadlockError, SimInvariantError, SimTimeoutError } from './errors.ts';
import { EventLoop, type SimEvent } from './event-loop.ts';
import { SimNodes, type NodeSpec, type SimNode } from './nodes.ts';
import { Trace, type TraceKind, type TraceRecord } from './trace.ts';

export interface SimOptions {
  /** The seed: the only input that varies between runs of the same code. */
  seed: number;
  /** Trace records kept in memory for reports (default 200). */
  traceKeep?: number;
  /** Stream the full trace to this JSONL file. */
  traceFile?: string;
  /** Events allowed at one virtual instant before the run is declared a livelock (default 50 000). */
  livelockLimit?: number;
  /** Fail on runtime calls from code that escaped its event (default true; costs about 1 µs per event). */
  checkStrayContinuations?: boolean;
  /** Real milliseconds one event may take before it is declared stuck (default 20 000). */
  stuckEventRealMs?: number;
}

export class Sim {
  readonly seed: number;
  /** Random stream for the test's own choices (chaos: whom to crash, which partition). */
  readonly random: SeededRandom;
  readonly trace: Trace;

  private readonly root: SeededRandom;
  private readonly loop: EventLoop;
  private readonly nodes: SimNodes;
  private readonly clients: SimClients;
  private readonly invariants: { name: string; check: (node: number | undefined) => string | undefined }[] = [];

  constructor(options: SimOptions) {
    if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffff_ffff) {
      throw new RangeError(`seed must be an integer in [0, 2^32), got ${options.seed}`);
    }
    this.seed = options.seed;
    this.root = new SeededRandom(options.seed);
    this.random = this.root.fork(0x7e57);
    this.trace = new Trace({ keep: options.traceKeep, file: options.traceFile });
    this.loop = new EventLoop({
      trace: this.trace,
      checkStrayContinuations: options.checkStrayContinuations ?? true,
      livelockLimit: options.livelockLimit ?? 50_000,
      stuckEventRealMs: options.stuckEventRealMs ?? 20_000,
    });
    this.nodes = new SimNodes(this.loop, (label) => this.root.fork(label));
    this.clients = new SimClients(this.loop);
  }

  // ---------------------------------------------------------------------------------------------------
  // Invariant checks

  /**
   * Check `invariant` after every event of the run: it gets the id of the node whose event just ran
   * (undefined for a client actor's step) and returns what is wrong, or undefined. A violation fails the
   * run at once with SimInvariantError, naming the checker and showing the events before it.
   */
  addInvariant(name: string, invariant: (node: number | undefined) => string | undefined): void {
    this.invariants.push({ name, check: invariant });
  }

  private afterEvent(event: SimEvent): void {
    const node = event.incarnation?.node.id;
    for (const { name, check } of this.invariants) {
      const violation = check(node);
      if (violation !== undefined) {
        // Periodic timers (ticks) crowd out what matters; the events before a violation are shown without them.
        const recent = this.trace.last().filter((r) => r.k !== 'every');
        throw new SimInvariantError(name, violation, this.now(), recent);
      }
    }
    this.clients.checkConditions();
  }

  // ---------------------------------------------------------------------------------------------------
  // Clock, randomness and trace

  /** Virtual time in ms. */
  now(): number {
    return this.loop.now();
  }

  /** A fresh random stream for a component (the network, a workload generator). */
  forkRandom(label: number): SeededRandom {
    return this.root.fork(label);
  }

  /** The running trace hash (see Trace.hash). */
  traceHash(): string {
    return this.trace.hash();
  }

  /** The last trace records, oldest first. */
  lastEvents(n?: number): TraceRecord[] {
    return this.trace.last(n);
  }

  /** Add a free-text line to the trace (counts in the hash). */
  note(text: string, who = 'sim'): void {
    this.loop.record('note', who, text);
  }

  /** Record a trace line on behalf of a component (the network). */
  record(kind: TraceKind, who: string, detail: string): void {
    this.loop.record(kind, who, detail);
  }

  /** Fail the run if the caller's code escaped its event (see EventLoop.checkCaller). */
  checkCaller(what: string): void {
    this.loop.checkCaller(what);
  }

  /** The run is over: flush and close the trace file (the hash and recent records stay available). */
  close(): void {
    this.trace.close();
    this.loop.close();
  }

  // ---------------------------------------------------------------------------------------------------
  // Nodes (see nodes.ts)

  /** Register node `id` (down until startNode). */
  addNode<T>(id: number, spec: NodeSpec<T>): SimNode<T> {
    return this.nodes.addNode(id, spec);
  }

  /** Ids of every registered node, ascending. */
  nodeIds(): number[] {
    return this.nodes.nodeIds();
  }

  /** The trace name of node `id`, or undefined if it is not registered. */
  nodeName(id: number): string | undefined {
    return this.nodes.nodeName(id);
  }

  isUp(id: number): boolean {
    return this.nodes.isUp(id);
  }

  /** The running instance of node `id` (what its spec's start returned). Throws if it is down. */
  instance<T>(id: number): T {
    return this.nodes.instance<T>(id);
  }

  /** Start node `id` (it must be down): a fresh incarnation, built by its spec. */
  startNode<T = unknown>(id: number): Promise<T> {
    return this.nodes.startNode<T>(id);
  }

  /** Crash node `id`: its pending work is lost, then its kill hook runs. Does nothing if it is down. */
  crash(id: number): Promise<void> {
    return this.nodes.crash(id);
  }

  /** Crash node `id` if it is up, then start it again. */
  restart<T = unknown>(id: number): Promise<T> {
    return this.nodes.restart<T>(id);
  }

  /** Schedule work on node `nodeId`'s current incarnation; false if it is down (the network's deliveries). */
  scheduleOnNode(nodeId: number, delayMs: number, kind: TraceKind, detail: string, run: Job): boolean {
    return this.nodes.scheduleOnNode(nodeId, delayMs, kind, detail, run);
  }

  // ---------------------------------------------------------------------------------------------------
  // Client actors (see clients.ts)

  /**
   * Start a client actor: `fn` runs inside the simulation, in steps, from the next event on. If it throws,
   * the run fails (unless `failRunOnError` is false, in which case only `done` rejects).
   */
  spawnClient<T>(name: string, fn: () => Promise<T>, options: { failRunOnError?: boolean } = {}): ClientHandle<T> {
    return this.clients.spawnClient(name, fn, options);
  }

  /** In a client actor: let `ms` of virtual time pass. */
  sleep(ms: number): Promise<void> {
    return this.clients.sleep(ms);
  }

  /**
   * In a client actor: wait until `predicate` holds (checked after every event). Resolves true, or false if
   * `timeoutMs` of virtual time pass first. `label` names the wait in deadlock and timeout reports.
   */
  waitUntil(label: string, predicate: () => boolean, options: WaitOptions = {}): Promise<boolean> {
    return this.clients.waitUntil(label, predicate, options);
  }

  /**
   * In a client actor: wait for `promise` — typically a callback the code under test will settle during some
   * event — and return its value (or throw its error). With `timeoutMs`, throws WaitTimeoutError when that much
   * virtual time passes first. Awaiting such a promise directly, without waitFor, would stall the scheduler.
   */
  waitFor<T>(promise: Promise<T>, options: WaitOptions & { label?: string } = {}): Promise<T> {
    return this.clients.waitFor(promise, options);
  }

  // ---------------------------------------------------------------------------------------------------
  // Running

  /**
   * Run `fn` as the main client actor until it finishes, and return its result (or throw its error).
   * This is how a test body runs in virtual time:
   *   await sim.main(async () => { await cluster.mustPut(k, v); await sim.sleep(1000); ... }, { maxVirtualMs: 60_000 });
   */
  async main<T>(fn: () => Promise<T>, options: { maxVirtualMs: number; name?: string }): Promise<T> {
    const handle = this.spawnClient(options.name ?? 'main', fn, { failRunOnError: false });
    await this.runUntil(() => handle.finished, {
      maxVirtualMs: options.maxVirtualMs,
      label: `client "${handle.name}" to finish`,
    });
    return handle.done;
  }

  /**
   * Run events until `predicate` holds (checked before the first event and after each one).
   * Throws SimTimeoutError after `maxVirtualMs` of virtual time, SimDeadlockError if the queue runs dry first.
   */
  async runUntil(predicate: () => boolean, options: { maxVirtualMs: number; label?: string }): Promise<void> {
    checkDelay(options.maxVirtualMs);
    const label = options.label ?? 'the runUntil condition';
    const deadline = this.now() + options.maxVirtualMs;
    await this.loop.run({
      done: predicate,
      deadline,
      afterEachEvent: (event) => this.afterEvent(event),
      onStop: (reason) =>
        reason === 'deadline'
          ? new SimTimeoutError([label, ...this.clients.awaitedByClients()], options.maxVirtualMs, this.now(), this.trace.last())
          : new SimDeadlockError([label, ...this.clients.awaitedByClients()], this.now(), this.trace.last()),
    });
  }

  /** Run every event due in the next `ms` of virtual time; the clock then reads now + ms. */
  async runFor(ms: number): Promise<void> {
    checkDelay(ms);
    const deadline = this.now() + ms;
    await this.loop.run({
      done: () => false,
      deadline,
      afterEachEvent: (event) => this.afterEvent(event),
      onStop: () => undefined,
    });
    this.loop.advanceClockTo(deadline);
  }
}
