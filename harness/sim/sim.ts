/**
 * The deterministic simulation: a discrete-event scheduler over a virtual clock.
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
 * Nodes (stores) are actors with a Runtime (SimNodeRuntime). A crash throws away everything the node had
 * pending (timers, queued jobs, background tasks, messages on their way to it) and calls its kill hook;
 * a restart builds a fresh incarnation with the node's factory.
 *
 * Client actors are the test's own async code (sim.main, sim.spawnClient). They run in steps: a step runs
 * until the client waits on the simulation (sim.sleep, sim.waitUntil, sim.waitFor) and the rest of the
 * client runs as a later event, when the wait is over. A client waits for one thing at a time.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { SeededRandom, type RandomSource } from '../../reference/util/prng.ts';
import { checkDelay, checkPeriod, jobLabel } from '../../reference/runtime/runtime.ts';
import type { Job, Runtime, TimerHandle } from '../../reference/runtime/runtime.ts';
import { deferred, type Deferred } from './deferred.ts';
import { EventQueue } from './event-queue.ts';
import {
  SimDeadlockError,
  SimError,
  SimHandlerError,
  SimLivelockError,
  SimStrayContinuationError,
  SimStuckEventError,
  SimTimeoutError,
  SimUsageError,
  WaitTimeoutError,
} from './errors.ts';
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

/** Options of a client wait. */
export interface WaitOptions {
  /** Give up after this much virtual time. */
  timeoutMs?: number;
}

/** A client actor started with spawnClient. */
export interface ClientHandle<T> {
  readonly name: string;
  /** Settles when the client's function settles (awaiting it from another client: use sim.waitFor). */
  readonly done: Promise<T>;
  /** True once the client's function has settled. */
  readonly finished: boolean;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** One thing a client actor waits for. */
interface ClientWait {
  label: string;
  settled: boolean;
  resume(outcome: Outcome): void;
  timeoutEvent?: SimEvent;
}

class ClientActor {
  readonly traceName: string;
  state: 'new' | 'running' | 'parked' | 'done' = 'new';
  wait: ClientWait | undefined;
  /** Resolved when the current step ends: the client parked on a wait or finished. */
  stepEnd: Deferred<void> | undefined;

  constructor(readonly name: string) {
    this.traceName = `client:${name}`;
  }
}

/** One life of a node, from start to crash. Work it scheduled dies with it. */
class Incarnation {
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

interface SimEvent {
  readonly time: number;
  readonly seq: number;
  readonly kind: TraceKind;
  /** Trace name of who runs it: a node or a client actor. */
  readonly who: string;
  readonly detail: string;
  /** Node work: skipped if this incarnation has died. */
  readonly incarnation: Incarnation | undefined;
  /** Client steps: the actor (its async context is the actor, not the event). */
  readonly actor: ClientActor | undefined;
  cancelled: boolean;
  readonly run: () => void | Promise<void>;
}

/** Whose code is running: a node event or a client actor. */
type Owner = SimEvent | ClientActor;

function describeOwner(owner: Owner): string {
  if (owner instanceof ClientActor) return `client actor "${owner.name}"`;
  return `the ${owner.kind} event on ${owner.who} (${owner.detail}) scheduled for ${owner.time} ms`;
}

export class Sim {
  readonly seed: number;
  /** Random stream for the test's own choices (chaos: whom to crash, which partition). */
  readonly random: SeededRandom;
  readonly trace: Trace;

  private clock = 0;
  private seqCounter = 0;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly root: SeededRandom;
  private readonly nodes = new Map<number, NodeState>();
  private readonly als = new AsyncLocalStorage<Owner>();
  private readonly strict: boolean;
  private readonly livelockLimit: number;
  private readonly stuckEventRealMs: number;
  private readonly conditionWaits = new Map<ClientWait, { actor: ClientActor; predicate: () => boolean }>();
  private readonly parked = new Set<ClientActor>();

  private running = false;
  private current: Owner | undefined;
  private fault: Error | undefined;
  private eventsAtThisInstant = 0;
  private lastInstant = 0;
  private eventsSinceYield = 0;
  private currentStartedRealMs = 0;
  private stuck: Deferred<never> | undefined;
  private readonly afterEvent: Array<() => Promise<void>> = [];

  constructor(options: SimOptions) {
    if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffff_ffff) {
      throw new RangeError(`seed must be an integer in [0, 2^32), got ${options.seed}`);
    }
    this.seed = options.seed;
    this.root = new SeededRandom(options.seed);
    this.random = this.root.fork(0x7e57);
    this.trace = new Trace({ keep: options.traceKeep, file: options.traceFile });
    this.strict = options.checkStrayContinuations ?? true;
    this.livelockLimit = options.livelockLimit ?? 50_000;
    this.stuckEventRealMs = options.stuckEventRealMs ?? 20_000;
  }

  // ---------------------------------------------------------------------------------------------------
  // Clock and scheduling

  /** Virtual time in ms. */
  now(): number {
    return this.clock;
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
    this.trace.record(this.clock, 'note', who, text);
  }

  /** Record a trace line on behalf of a component (the network). */
  record(kind: TraceKind, who: string, detail: string): void {
    this.trace.record(this.clock, kind, who, detail);
  }

  /**
   * Schedule work on node `nodeId`'s current incarnation, `delayMs` from now. Returns false (and schedules
   * nothing) if the node is down. Used by the network for deliveries.
   */
  scheduleOnNode(nodeId: number, delayMs: number, kind: TraceKind, detail: string, run: Job): boolean {
    const node = this.nodes.get(nodeId);
    const inc = node?.current;
    if (node === undefined || inc === undefined) return false;
    this.schedule(delayMs, kind, node.name, detail, inc, undefined, run);
    return true;
  }

  private schedule(
    delayMs: number,
    kind: TraceKind,
    who: string,
    detail: string,
    incarnation: Incarnation | undefined,
    actor: ClientActor | undefined,
    run: () => void | Promise<void>,
  ): SimEvent {
    const event: SimEvent = {
      time: this.clock + Math.ceil(delayMs),
      seq: this.seqCounter++,
      kind,
      who,
      detail,
      incarnation,
      actor,
      cancelled: false,
      run,
    };
    this.queue.push(event);
    return event;
  }

  /**
   * Called by every runtime entry point. While the simulation runs, the caller's async context must be the
   * event (or client actor) that is running now; anything else is code that escaped its event.
   */
  checkCaller(what: string): void {
    if (!this.running || !this.strict) return;
    const owner = this.als.getStore();
    if (owner === this.current) return;
    const err = new SimStrayContinuationError(
      what,
      owner === undefined ? 'code outside the simulation' : describeOwner(owner),
      this.current === undefined ? 'no event (it is between events)' : describeOwner(this.current),
      this.clock,
      this.trace.last(),
    );
    this.fault ??= err;
    throw err;
  }

  // ---------------------------------------------------------------------------------------------------
  // Nodes

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

  isUp(id: number): boolean {
    return this.requireNode(id).current !== undefined;
  }

  /** The running instance of node `id` (what its spec's start returned). Throws if it is down. */
  instance<T>(id: number): T {
    const node = this.requireNode(id);
    if (node.current === undefined) throw new SimUsageError(`node ${node.name} is down`);
    return node.instance as T;
  }

  /** Start node `id` (it must be down): a fresh incarnation, built by its spec. */
  async startNode<T = unknown>(id: number): Promise<T> {
    this.checkCaller('sim.startNode');
    const node = this.requireNode(id);
    if (node.current !== undefined) throw new SimUsageError(`node ${node.name} is already up`);
    const inc = new Incarnation(node, ++node.incarnations);
    node.current = inc;
    const rt = new SimNodeRuntime(this, inc, this.root.fork(id));
    this.trace.record(this.clock, 'start', node.name, `incarnation ${inc.number}`);
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
    this.checkCaller('sim.crash');
    const node = this.requireNode(id);
    const inc = node.current;
    if (inc === undefined) return;
    if (this.current !== undefined && !(this.current instanceof ClientActor) && this.current.incarnation === inc) {
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
    const owner = this.current;
    if (!(owner !== undefined && !(owner instanceof ClientActor) && owner.incarnation === inc)) {
      throw new SimUsageError(`crashNow must be called from an event of ${inc.node.name} itself; use sim.crash otherwise`);
    }
    if (!inc.alive) return;
    this.note(`power cut: ${reason}`, inc.node.name);
    this.afterEvent.push(this.markCrashed(inc.node, inc));
  }

  /** Mark an incarnation dead, trace what it loses, and return its kill hook (to run when safe). */
  private markCrashed(node: NodeState, inc: Incarnation): () => Promise<void> {
    inc.alive = false;
    node.current = undefined;
    const instance = node.instance;
    node.instance = undefined;
    const lost = new Map<string, number>();
    for (const ev of this.queue.items()) {
      if (ev.incarnation === inc && !ev.cancelled) lost.set(ev.kind, (lost.get(ev.kind) ?? 0) + 1);
    }
    const summary = [...lost]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
    this.trace.record(this.clock, 'crash', node.name, `incarnation ${inc.number}; dropped ${summary || 'nothing'}`);
    return async () => {
      await node.spec.kill?.(instance);
    };
  }

  /** Crash node `id` if it is up, then start it again. */
  async restart<T = unknown>(id: number): Promise<T> {
    await this.crash(id);
    return this.startNode<T>(id);
  }

  private requireNode(id: number): NodeState {
    const node = this.nodes.get(id);
    if (node === undefined) throw new SimUsageError(`no node ${id} (registered: ${this.nodeIds().join(', ') || 'none'})`);
    return node;
  }

  /** @internal the trace name of node `id`, or undefined if it is not registered. */
  nodeName(id: number): string | undefined {
    return this.nodes.get(id)?.name;
  }

  // Node runtime services (used by SimNodeRuntime).

  /** @internal */
  nodeSchedule(inc: Incarnation, delayMs: number, kind: TraceKind, detail: string, run: Job): SimEvent {
    return this.schedule(delayMs, kind, inc.node.name, detail, inc, undefined, run);
  }

  // ---------------------------------------------------------------------------------------------------
  // Client actors

  /**
   * Start a client actor: `fn` runs inside the simulation, in steps, from the next event on. If it throws,
   * the run fails (unless `failRunOnError` is false, in which case only `done` rejects).
   */
  spawnClient<T>(name: string, fn: () => Promise<T>, options: { failRunOnError?: boolean } = {}): ClientHandle<T> {
    this.checkCaller('sim.spawnClient');
    const actor = new ClientActor(name);
    const failRun = options.failRunOnError ?? true;
    const result = deferred<T>();
    result.promise.catch(() => undefined); // reported through the run, or by whoever awaits `done`
    const handle = { name, done: result.promise, finished: false };
    this.schedule(0, 'client', actor.traceName, 'start', undefined, actor, () =>
      this.clientStep(actor, () => {
        this.als.run(actor, () => {
          void (async () => fn())().then(
            (value) => this.clientFinished(actor, handle, () => result.resolve(value)),
            (error: unknown) =>
              this.clientFinished(actor, handle, () => {
                result.reject(error);
                if (failRun) {
                  this.fault ??= new SimHandlerError(describeOwner(actor), error, this.clock, this.trace.last());
                }
              }),
          );
        });
      }),
    );
    return handle;
  }

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

  /** In a client actor: let `ms` of virtual time pass. */
  sleep(ms: number): Promise<void> {
    checkDelay(ms);
    return this.park<void>('sim.sleep', `sleep ${ms} ms`, (actor, wait) => {
      this.schedule(ms, 'client', actor.traceName, `after ${wait.label}`, undefined, actor, () =>
        this.resumeClient(actor, wait, { ok: true, value: undefined }),
      );
    });
  }

  /**
   * In a client actor: wait until `predicate` holds (checked after every event). Resolves true, or false if
   * `timeoutMs` of virtual time pass first. `label` names the wait in deadlock and timeout reports.
   */
  waitUntil(label: string, predicate: () => boolean, options: WaitOptions = {}): Promise<boolean> {
    this.currentClient('sim.waitUntil', label);
    if (predicate()) return Promise.resolve(true);
    return this.park<boolean>('sim.waitUntil', label, (actor, wait) => {
      this.conditionWaits.set(wait, { actor, predicate });
      this.armTimeout(actor, wait, options.timeoutMs, { ok: true, value: false });
    });
  }

  /**
   * In a client actor: wait for `promise` — typically a callback the code under test will settle during some
   * event — and return its value (or throw its error). With `timeoutMs`, throws WaitTimeoutError when that much
   * virtual time passes first. Awaiting such a promise directly, without waitFor, would stall the scheduler.
   */
  waitFor<T>(promise: Promise<T>, options: WaitOptions & { label?: string } = {}): Promise<T> {
    const label = options.label ?? 'a promise';
    return this.park<T>('sim.waitFor', label, (actor, wait) => {
      // Runs as a promise reaction inside whichever event settled `promise`; the client continues as an event
      // of its own at this virtual instant.
      const wake = (outcome: Outcome) => {
        if (wait.settled || actor.wait !== wait) return; // already timed out
        if (wait.timeoutEvent !== undefined) wait.timeoutEvent.cancelled = true;
        this.schedule(0, 'client', actor.traceName, `after ${label}`, undefined, actor, () =>
          this.resumeClient(actor, wait, outcome),
        );
      };
      promise.then(
        (value) => wake({ ok: true, value }),
        (error: unknown) => wake({ ok: false, error }),
      );
      if (options.timeoutMs !== undefined) {
        this.armTimeout(actor, wait, options.timeoutMs, {
          ok: false,
          error: new WaitTimeoutError(label, options.timeoutMs),
        });
      }
    });
  }

  private armTimeout(actor: ClientActor, wait: ClientWait, timeoutMs: number | undefined, outcome: Outcome): void {
    if (timeoutMs === undefined) return;
    checkDelay(timeoutMs);
    wait.timeoutEvent = this.schedule(timeoutMs, 'client', actor.traceName, `timeout ${wait.label}`, undefined, actor, () =>
      this.resumeClient(actor, wait, outcome),
    );
  }

  /** The client actor whose step is running now, or a usage error naming `what`. */
  private currentClient(what: string, label: string): ClientActor {
    const owner = this.current;
    if (owner instanceof ClientActor && owner.state === 'parked' && owner.wait !== undefined) {
      throw new SimUsageError(
        `client actor "${owner.name}" is already waiting for "${owner.wait.label}" and now also for "${label}". ` +
          'A client waits for one thing at a time: await each wait before starting the next, ' +
          'and use more client actors (sim.spawnClient) for concurrency.',
      );
    }
    if (!(owner instanceof ClientActor) || owner.state !== 'running') {
      throw new SimUsageError(
        `${what} can only be called from a client actor (sim.main or sim.spawnClient); ` +
          (owner === undefined ? 'no client is running now' : `it was called from ${describeOwner(owner)}`) +
          '. Node code waits with runtime.setTimer instead.',
      );
    }
    this.checkCaller(what);
    return owner;
  }

  /** End the current client step: the client now waits for `label`; `arm` schedules what will wake it. */
  private park<T>(what: string, label: string, arm: (actor: ClientActor, wait: ClientWait) => void): Promise<T> {
    const actor = this.currentClient(what, label);
    const promise = new Promise<T>((resolve, reject) => {
      const wait: ClientWait = {
        label,
        settled: false,
        resume: (outcome) => (outcome.ok ? resolve(outcome.value as T) : reject(outcome.error)),
      };
      actor.wait = wait;
      arm(actor, wait);
    });
    actor.state = 'parked';
    this.parked.add(actor);
    actor.stepEnd?.resolve();
    return promise;
  }

  /** The event that continues a parked client: settle its wait, then run it until it parks or finishes. */
  private async resumeClient(actor: ClientActor, wait: ClientWait, outcome: Outcome): Promise<void> {
    if (wait.settled || actor.wait !== wait) return;
    wait.settled = true;
    if (wait.timeoutEvent !== undefined) wait.timeoutEvent.cancelled = true;
    this.conditionWaits.delete(wait);
    await this.clientStep(actor, () => {
      actor.wait = undefined;
      wait.resume(outcome);
    });
  }

  private async clientStep(actor: ClientActor, kick: () => void): Promise<void> {
    const stepEnd = deferred<void>();
    actor.stepEnd = stepEnd;
    actor.state = 'running';
    this.parked.delete(actor);
    kick();
    await stepEnd.promise;
  }

  private clientFinished(actor: ClientActor, handle: { finished: boolean }, settle: () => void): void {
    actor.state = 'done';
    handle.finished = true;
    if (actor.wait !== undefined) {
      // It finished without awaiting its last wait; that wait will never be resumed.
      actor.wait.settled = true;
      if (actor.wait.timeoutEvent !== undefined) actor.wait.timeoutEvent.cancelled = true;
      this.conditionWaits.delete(actor.wait);
      actor.wait = undefined;
    }
    this.parked.delete(actor);
    settle();
    actor.stepEnd?.resolve();
  }

  /** What every parked client waits for (for deadlock and timeout reports). */
  private awaitedByClients(): string[] {
    return [...this.parked].map((a) => `${a.traceName} waiting for ${a.wait?.label ?? '?'}`);
  }

  // ---------------------------------------------------------------------------------------------------
  // Running

  /**
   * Run events until `predicate` holds (checked before the first event and after each one).
   * Throws SimTimeoutError after `maxVirtualMs` of virtual time, SimDeadlockError if the queue runs dry first.
   */
  async runUntil(predicate: () => boolean, options: { maxVirtualMs: number; label?: string }): Promise<void> {
    checkDelay(options.maxVirtualMs);
    const label = options.label ?? 'the runUntil condition';
    const deadline = this.clock + options.maxVirtualMs;
    await this.loop(predicate, deadline, (reason) =>
      reason === 'deadline'
        ? new SimTimeoutError([label, ...this.awaitedByClients()], options.maxVirtualMs, this.clock, this.trace.last())
        : new SimDeadlockError([label, ...this.awaitedByClients()], this.clock, this.trace.last()),
    );
  }

  /** Run every event due in the next `ms` of virtual time; the clock then reads now + ms. */
  async runFor(ms: number): Promise<void> {
    checkDelay(ms);
    const deadline = this.clock + ms;
    await this.loop(() => false, deadline, () => undefined);
    this.clock = deadline;
  }

  private async loop(
    done: () => boolean,
    deadline: number,
    onStop: (reason: 'deadline' | 'empty') => SimError | undefined,
  ): Promise<void> {
    if (this.running) throw new SimUsageError('the simulation is already running (runUntil/runFor/main cannot nest)');
    this.throwFault();
    this.running = true;
    this.stuck = deferred<never>();
    this.stuck.promise.catch(() => undefined);
    const watchdog = setInterval(() => this.checkStuck(), Math.min(1000, this.stuckEventRealMs));
    watchdog.unref();
    try {
      for (;;) {
        if (done()) return;
        const event = this.nextLiveEvent();
        if (event === undefined || event.time > deadline) {
          const reason = event === undefined ? 'empty' : 'deadline';
          if (reason === 'deadline') this.clock = deadline;
          const err = onStop(reason);
          if (err !== undefined) throw err;
          return;
        }
        this.queue.pop();
        await this.execute(event);
        this.throwFault();
        this.checkConditions();
        this.throwFault();
        if (++this.eventsSinceYield >= 500) {
          // Let the real event loop breathe (I/O callbacks, the watchdog, the test runner); nothing of the
          // simulation runs meanwhile, so this changes no outcome.
          this.eventsSinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } finally {
      clearInterval(watchdog);
      this.running = false;
      this.current = undefined;
      this.trace.flush();
    }
  }

  /** The next event that will really run, dropping cancelled ones and those of crashed incarnations. */
  private nextLiveEvent(): SimEvent | undefined {
    for (let ev = this.queue.peek(); ev !== undefined; ev = this.queue.peek()) {
      if (!ev.cancelled && (ev.incarnation === undefined || ev.incarnation.alive)) return ev;
      this.queue.pop();
    }
    return undefined;
  }

  private async execute(event: SimEvent): Promise<void> {
    if (event.time > this.lastInstant) {
      this.lastInstant = event.time;
      this.eventsAtThisInstant = 0;
    }
    this.clock = event.time;
    if (++this.eventsAtThisInstant > this.livelockLimit) {
      throw new SimLivelockError(this.livelockLimit, this.clock, this.trace.last());
    }
    this.trace.record(event.time, event.kind, event.who, event.detail);
    const owner: Owner = event.actor ?? event;
    this.current = owner;
    this.currentStartedRealMs = Date.now();
    try {
      const result = this.als.run(owner, event.run);
      if (result !== undefined) await Promise.race([result, this.stuck!.promise]);
    } catch (err) {
      if (err instanceof SimStuckEventError) throw err;
      if (event.incarnation !== undefined && !event.incarnation.alive) {
        // The node lost power during this event; what its code does after that is of no consequence.
        this.note(`error after the crash (ignored): ${err instanceof Error ? err.message : String(err)}`, event.who);
        return;
      }
      this.fault ??= new SimHandlerError(
        `${event.kind} on ${event.who} (${event.detail})`,
        err,
        this.clock,
        this.trace.last(),
      );
    } finally {
      this.current = undefined;
      this.currentStartedRealMs = 0;
      // Kill hooks of nodes that crashed during the event run now that the event's code is done with them.
      for (let kill = this.afterEvent.shift(); kill !== undefined; kill = this.afterEvent.shift()) await kill();
    }
  }

  private checkStuck(): void {
    const started = this.currentStartedRealMs;
    if (started === 0 || this.current === undefined) return;
    const elapsed = Date.now() - started;
    if (elapsed < this.stuckEventRealMs) return;
    this.stuck?.reject(new SimStuckEventError(describeOwner(this.current), elapsed, this.clock, this.trace.last()));
  }

  /** Wake clients whose condition now holds, in the order they started waiting. */
  private checkConditions(): void {
    if (this.conditionWaits.size === 0) return;
    for (const [wait, { actor, predicate }] of [...this.conditionWaits]) {
      let holds: boolean;
      try {
        holds = predicate();
      } catch (err) {
        this.fault ??= new SimHandlerError(`the condition "${wait.label}" of ${describeOwner(actor)}`, err, this.clock, this.trace.last());
        return;
      }
      if (!holds) continue;
      this.conditionWaits.delete(wait);
      if (wait.timeoutEvent !== undefined) wait.timeoutEvent.cancelled = true;
      this.schedule(0, 'client', actor.traceName, `after ${wait.label}`, undefined, actor, () =>
        this.resumeClient(actor, wait, { ok: true, value: true }),
      );
    }
  }

  private throwFault(): void {
    if (this.fault !== undefined) throw this.fault;
  }

  /** Flush and close the trace file (the hash and recent records stay available). */
  close(): void {
    this.trace.close();
  }
}

/** A handle on a registered node, for tests. */
export class SimNode<T> {
  constructor(
    private readonly sim: Sim,
    readonly id: number,
    readonly name: string,
  ) {}

  get up(): boolean {
    return this.sim.isUp(this.id);
  }

  /** The running instance (throws if the node is down). */
  get instance(): T {
    return this.sim.instance<T>(this.id);
  }

  start(): Promise<T> {
    return this.sim.startNode<T>(this.id);
  }

  crash(): Promise<void> {
    return this.sim.crash(this.id);
  }

  restart(): Promise<T> {
    return this.sim.restart<T>(this.id);
  }
}

/**
 * The Runtime a node sees in the simulation. Bound to one incarnation: once the node crashes, this runtime is
 * dead and its timers, posts, spawns and sends do nothing (a new incarnation gets a new runtime).
 */
export class SimNodeRuntime implements Runtime {
  readonly random: RandomSource;
  private readonly stream: SeededRandom;

  constructor(
    readonly sim: Sim,
    private readonly incarnation: Incarnation,
    stream: SeededRandom,
  ) {
    this.stream = stream;
    this.random = {
      nextInt: (maxExclusive) => {
        sim.checkCaller('runtime.random');
        return this.stream.nextInt(maxExclusive);
      },
      nextFloat: () => {
        sim.checkCaller('runtime.random');
        return this.stream.nextFloat();
      },
    };
  }

  get nodeId(): number {
    return this.incarnation.node.id;
  }

  /** The node's trace name ("s1"). */
  get name(): string {
    return this.incarnation.node.name;
  }

  /** False once this incarnation has crashed. */
  get alive(): boolean {
    return this.incarnation.alive;
  }

  now(): number {
    this.sim.checkCaller('runtime.now');
    return this.sim.now();
  }

  setTimer(delayMs: number, fn: Job, label?: string): TimerHandle {
    checkDelay(delayMs);
    this.sim.checkCaller('runtime.setTimer');
    if (!this.alive) return { cancel: () => undefined };
    const event = this.sim.nodeSchedule(this.incarnation, delayMs, 'timer', jobLabel(label, fn, 'timer'), fn);
    return {
      cancel: () => {
        event.cancelled = true;
      },
    };
  }

  every(periodMs: number, fn: Job, label?: string): TimerHandle {
    checkPeriod(periodMs);
    this.sim.checkCaller('runtime.every');
    if (!this.alive) return { cancel: () => undefined };
    const name = jobLabel(label, fn, 'every');
    let cancelled = false;
    let pending: SimEvent | undefined;
    const arm = (): void => {
      pending = this.sim.nodeSchedule(this.incarnation, periodMs, 'every', name, () => {
        arm(); // the next period is due one period after this one, however long this run takes
        return fn();
      });
    };
    arm();
    return {
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        if (pending !== undefined) pending.cancelled = true;
      },
    };
  }

  post(label: string, fn: Job): void {
    this.sim.checkCaller('runtime.post');
    if (!this.alive) return;
    this.sim.nodeSchedule(this.incarnation, 0, 'post', label, fn);
  }

  spawn(name: string, task: () => Promise<void>): void {
    this.sim.checkCaller('runtime.spawn');
    if (!this.alive) return;
    this.sim.nodeSchedule(this.incarnation, 0, 'spawn', name, task);
  }

  /**
   * Crash this node right here, in the middle of its current event (see Sim.crashInEvent). For fault
   * injection at a precise point, e.g. an engine wrapper cutting the power just before a write.
   */
  crashNow(reason: string): void {
    this.sim.crashInEvent(this.incarnation, reason);
  }

  /** Add a line to the trace on behalf of this node (e.g. "became leader at term 3"). */
  note(text: string): void {
    if (!this.alive) return;
    this.sim.record('note', this.name, text);
  }
}
