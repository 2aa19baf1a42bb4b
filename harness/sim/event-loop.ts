/**
 * The heart of the simulation: the virtual clock and the event loop.
 *
 * Every piece of work is an event in one queue ordered by (virtual time, sequence number). The loop takes
 * the next event, moves the clock to its time, records it in the trace, and runs it to its end — awaiting
 * its promise, even for engine I/O that really is asynchronous — before it starts the next one. So the real
 * time an await takes never changes what happens next; only the seed does.
 *
 * Each event runs in an async context of its own (AsyncLocalStorage) whose owner is the event itself, or
 * for a client step the client actor (client-actor.ts). checkCaller compares that owner with the event
 * that is running now, which catches code that escaped its event (a promise nobody awaited, finishing
 * during someone else's event).
 *
 * The loop also watches for trouble: an error thrown by an event (a fault: the run fails), too many events
 * at one virtual instant (a livelock) and an event that takes too long in real time (stuck).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ClientActor } from './client-actor.ts';
import { deferred, type Deferred } from './deferred.ts';
import { EventQueue } from './event-queue.ts';
import { SimHandlerError, SimLivelockError, SimStrayContinuationError, SimStuckEventError, SimUsageError, type SimError } from './errors.ts';
import type { Incarnation } from './nodes.ts';
import { Trace, type TraceKind } from './trace.ts';

/** One scheduled piece of work. */
export interface SimEvent {
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
export type Owner = SimEvent | ClientActor;

export function describeOwner(owner: Owner): string {
  if (owner instanceof ClientActor) return `client actor "${owner.name}"`;
  return `the ${owner.kind} event on ${owner.who} (${owner.detail}) scheduled for ${owner.time} ms`;
}

export interface EventLoopOptions {
  trace: Trace;
  /** Fail on runtime calls from code that escaped its event. */
  checkStrayContinuations: boolean;
  /** Events allowed at one virtual instant before the run is declared a livelock. */
  livelockLimit: number;
  /** Real milliseconds one event may take before it is declared stuck. */
  stuckEventRealMs: number;
}

/** How one run of the loop goes (see EventLoop.run). */
export interface RunOptions {
  /** Checked before the first event and after each one: the run ends as soon as it holds. */
  done: () => boolean;
  /** Virtual time the run may not go past. */
  deadline: number;
  /**
   * Runs after each event with the event that ran (the simulation wakes client actors whose condition now
   * holds, and runs the invariant checks).
   */
  afterEachEvent: (event: SimEvent) => void;
  /** The error to throw when the run stops before `done` holds (the queue ran dry, or the deadline came). */
  onStop: (reason: 'deadline' | 'empty') => SimError | undefined;
}

export class EventLoop {
  readonly trace: Trace;

  private clock = 0;
  private seqCounter = 0;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly als = new AsyncLocalStorage<Owner>();
  private readonly strict: boolean;
  private readonly livelockLimit: number;
  private readonly stuckEventRealMs: number;

  private running = false;
  private current: Owner | undefined;
  private fault: Error | undefined;
  private eventsAtThisInstant = 0;
  private lastInstant = 0;
  private eventsSinceYield = 0;
  private currentStartedRealMs = 0;
  private stuck: Deferred<never> | undefined;
  private readonly afterEvent: Array<() => Promise<void>> = [];

  constructor(options: EventLoopOptions) {
    this.trace = options.trace;
    this.strict = options.checkStrayContinuations;
    this.livelockLimit = options.livelockLimit;
    this.stuckEventRealMs = options.stuckEventRealMs;
  }

  /** Virtual time in ms. */
  /**
   * The run is over: release the async context. Node keeps every enabled AsyncLocalStorage in a global
   * list and visits each one for every promise created afterwards, so a process that runs many simulations
   * (a grader worker) would slow down and hold on to memory run after run.
   */
  close(): void {
    this.als.disable();
  }

  now(): number {
    return this.clock;
  }

  /** Move the clock forward to `time` (runFor: the whole span has passed even if the queue ran dry). */
  advanceClockTo(time: number): void {
    this.clock = time;
  }

  /** Record a trace line at the current virtual time. */
  record(kind: TraceKind, who: string, detail: string): void {
    this.trace.record(this.clock, kind, who, detail);
  }

  /** Queue `run` to happen `delayMs` from now; events due at the same time run in the order scheduled. */
  schedule(
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

  /** Every event still in the queue, in no particular order (a crash counts what its node loses). */
  pendingEvents(): readonly SimEvent[] {
    return this.queue.items();
  }

  /** Whose code is running now: an event, a client actor, or nobody (between events). */
  currentOwner(): Owner | undefined {
    return this.current;
  }

  /** The node event running now; undefined between events and during client steps. */
  currentNodeEvent(): SimEvent | undefined {
    const owner = this.current;
    return owner === undefined || owner instanceof ClientActor ? undefined : owner;
  }

  /** Run `fn` in the async context of `owner` (a client actor's first step starts its code this way). */
  runAs<T>(owner: Owner, fn: () => T): T {
    return this.als.run(owner, fn);
  }

  /** Fail the run with `err` (the first fault wins); it is thrown once the current event is over. */
  recordFault(err: Error): void {
    this.fault ??= err;
  }

  /** Run `fn` when the current event has finished (the kill hook of a node that lost power mid-event). */
  runAfterThisEvent(fn: () => Promise<void>): void {
    this.afterEvent.push(fn);
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

  /** Run events one at a time until `done` holds, the deadline comes or the queue runs dry (see RunOptions). */
  async run(options: RunOptions): Promise<void> {
    const { done, deadline, afterEachEvent, onStop } = options;
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
        afterEachEvent(event);
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
        this.record('note', event.who, `error after the crash (ignored): ${err instanceof Error ? err.message : String(err)}`);
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

  private throwFault(): void {
    if (this.fault !== undefined) throw this.fault;
  }
}
