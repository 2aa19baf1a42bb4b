/**
 * The runtime: the one door through which code in reference/ reaches anything nondeterministic — the clock,
 * timers, randomness, background work and the network between stores.
 *
 * Why a door at all: the test harness (harness/sim) implements this same interface over a virtual clock,
 * a seeded random source and a simulated network. Because nothing in reference/ calls Date.now, setTimeout,
 * setInterval, setImmediate or Math.random directly, a whole cluster runs inside one deterministic simulation:
 * the same seed replays the same run, event for event. The server binaries use the real implementation
 * (real-runtime.ts) over Node's timers.
 *
 * The actor contract (both implementations keep it):
 *   A Runtime belongs to one actor (a store). Everything that runs *as* that actor — timer callbacks,
 *   posted jobs, inbound messages — runs one job at a time: a job's promise is awaited before the actor's
 *   next job starts. So handlers never overlap, even when they await the storage engine.
 *   Background tasks (spawn) are the exception: they are not actor jobs; hand their results back with post().
 */
import type { RandomSource } from '../util/prng.ts';

export type { RandomSource } from '../util/prng.ts';

/** A job of the actor: a timer callback or a posted function. May be async; it is awaited. */
export type Job = () => void | Promise<void>;

/** What setTimer and every return: the way to stop the timer. */
export interface TimerHandle {
  /** Stop the timer. A callback that has not started yet will not run. Safe to call more than once. */
  cancel(): void;
}

export interface Runtime {
  /**
   * Milliseconds on this runtime's clock: an integer that never goes backwards. The real runtime follows the
   * wall clock (so timestamps look like times); the simulation's virtual clock starts at 0.
   */
  now(): number;

  /**
   * Run `fn` once as a job of this actor, `delayMs` (>= 0) milliseconds from now. `label` names the timer in
   * traces and error reports (defaults to the function's name).
   */
  setTimer(delayMs: number, fn: Job, label?: string): TimerHandle;

  /**
   * Run `fn` as a job of this actor every `periodMs` (> 0) milliseconds, first after one period: the raft tick.
   * A period whose previous run has not finished is skipped rather than queued up behind it.
   */
  every(periodMs: number, fn: Job, label?: string): TimerHandle;

  /**
   * Run `fn` as a job of this actor as soon as the jobs already waiting are done. This is how work from outside
   * the actor (a gRPC handler, a test client, a finished background task) enters it, serialized with its ticks
   * and messages. Never runs `fn` inline.
   */
  post(label: string, fn: Job): void;

  /**
   * The actor's random source (election timeouts, jitter). Seeded: in the simulation it is derived from the
   * test's seed, so random choices replay too.
   */
  readonly random: RandomSource;

  /**
   * Start background work (snapshot generation, log GC) that should not hold up the actor. The task starts
   * later, never inline. It returns nothing to wait on, on purpose: awaiting a background task from inside a
   * job would stall the actor (and, in the simulation, could never finish). The task reports back with post().
   * Errors are reported by the runtime (real: its onError; simulation: the run fails), never swallowed.
   */
  spawn(name: string, task: () => Promise<void>): void;

  /**
   * How many jobs wait in this actor's queue right now: a hint that lets an actor under load gather work
   * (the raftstore handles the Readies of many queued commands at once). Optional: a runtime that leaves it
   * out (the simulation) gets every job's work done at the end of that job.
   */
  waitingJobs?(): number;
}

/** Called for each message that arrives for this store, as a job of its actor. */
export type InboundHandler<M> = (msg: M, fromStore: number) => void | Promise<void>;

/**
 * Messages between stores. `M` is the payload type (for the raftstore: raft_serverpb.RaftMessage).
 *
 * A Transport is bound to one store: it knows its own store id, so send() needs only the destination.
 * Delivery is unreliable by contract — messages may be lost, delayed or reordered, and a store that is down
 * simply does not get them — so send() never throws for an unreachable store; raft retries on its own.
 *
 * Implementations: LocalTransportHub (real-runtime, in one process), the simulated network (harness/sim), and
 * later a gRPC transport between processes (tinykvpb.TinyKv/Raft), which implements this same interface.
 */
export interface Transport<M> {
  /** Queue `msg` for store `toStore`. Returns at once; delivery happens later, if at all. */
  send(toStore: number, msg: M): void;
  /** Install this store's handler for inbound messages. One per store: a later call replaces the earlier one. */
  listen(handler: InboundHandler<M>): void;
}

/** Thrown for an invalid delay or period: a bug in the caller, reported at the call site. */
export class InvalidTimerError extends RangeError {
  constructor(what: string, value: number) {
    super(`${what} must be a finite number of milliseconds${what === 'period' ? ' above 0' : ' >= 0'}, got ${value}`);
    this.name = 'InvalidTimerError';
  }
}

/** Check a setTimer delay; shared by the implementations so they reject the same inputs. */
export function checkDelay(delayMs: number): void {
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    throw new InvalidTimerError('delay', delayMs);
  }
}

/** Check an every() period. */
export function checkPeriod(periodMs: number): void {
  if (typeof periodMs !== 'number' || !Number.isFinite(periodMs) || periodMs <= 0) {
    throw new InvalidTimerError('period', periodMs);
  }
}

/** A label for traces: the explicit one, else the function's name, else a generic word. */
export function jobLabel(label: string | undefined, fn: (...args: never[]) => unknown, fallback: string): string {
  if (label !== undefined && label !== '') return label;
  if (fn.name) return fn.name;
  return fallback;
}
