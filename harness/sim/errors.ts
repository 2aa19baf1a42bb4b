/**
 * Errors the simulation raises. Each says what went wrong in words a student can act on, and carries the
 * virtual time and the last trace records so a failure report can show what led up to it.
 */
import { formatRecord, type TraceRecord } from './trace.ts';

/** How many trace records an error message itself shows (the report shows more). */
const TAIL_IN_MESSAGE = 20;
/** Starts the list of events in an error message. */
export const LAST_EVENTS_HEADING = '\nLast events:\n';

export class SimError extends Error {
  /** Virtual time (ms) when the error was raised. */
  readonly virtualTime: number;
  /** The last trace records, oldest first. */
  readonly lastEvents: TraceRecord[];

  constructor(message: string, virtualTime: number, lastEvents: TraceRecord[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimError';
    this.virtualTime = virtualTime;
    this.lastEvents = lastEvents;
  }
}

function tail(lastEvents: TraceRecord[]): string {
  if (lastEvents.length === 0) return '';
  const shown = lastEvents.slice(-TAIL_IN_MESSAGE).map(formatRecord).join('\n');
  return `${LAST_EVENTS_HEADING}${shown}`;
}

/** Too many events ran without virtual time moving: something reschedules itself with no delay. */
export class SimLivelockError extends SimError {
  constructor(limit: number, virtualTime: number, lastEvents: TraceRecord[]) {
    super(
      `Livelock: ${limit} events ran at virtual time ${virtualTime} ms without the clock advancing. ` +
        `Something keeps scheduling work with zero delay (a timer of 0 ms re-arming itself, or two nodes ` +
        `answering each other instantly).` +
        tail(lastEvents),
      virtualTime,
      lastEvents,
    );
    this.name = 'SimLivelockError';
  }
}

/** Nothing is left to run, yet someone is still waiting: the wait can never end. */
export class SimDeadlockError extends SimError {
  /** What was being waited for. */
  readonly awaited: string[];

  constructor(awaited: string[], virtualTime: number, lastEvents: TraceRecord[]) {
    super(
      `Deadlock at virtual time ${virtualTime} ms: no events are left to run, but the simulation is waiting for: ` +
        awaited.map((a) => `"${a}"`).join(', ') +
        `. Nothing can ever make that happen (every node is idle or down, no timers are set).` +
        tail(lastEvents),
      virtualTime,
      lastEvents,
    );
    this.name = 'SimDeadlockError';
    this.awaited = awaited;
  }
}

/** runUntil / main ran out of its virtual time budget before its condition held. */
export class SimTimeoutError extends SimError {
  readonly awaited: string[];

  constructor(awaited: string[], budgetMs: number, virtualTime: number, lastEvents: TraceRecord[]) {
    super(
      `Timed out after ${budgetMs} ms of virtual time (now ${virtualTime} ms) waiting for: ` +
        awaited.map((a) => `"${a}"`).join(', ') +
        '.' +
        tail(lastEvents),
      virtualTime,
      lastEvents,
    );
    this.name = 'SimTimeoutError';
    this.awaited = awaited;
  }
}

/**
 * An invariant checker found a state that must never exist (two leaders in one term, a committed entry
 * that changed...). It is raised right after the event that produced the state.
 */
export class SimInvariantError extends SimError {
  /** Which checker, e.g. "raft safety". */
  readonly checker: string;

  constructor(checker: string, violation: string, virtualTime: number, lastEvents: TraceRecord[]) {
    super(
      `Invariant violated (${checker}) at virtual time ${virtualTime} ms, right after this event: ${violation}` + tail(lastEvents),
      virtualTime,
      lastEvents,
    );
    this.name = 'SimInvariantError';
    this.checker = checker;
  }
}

/** An event handler (timer, message handler, posted job, background task, client actor) threw. */
export class SimHandlerError extends SimError {
  /** Which event: kind, node and label, e.g. `recv on s2 (1->2 MsgAppend)`. */
  readonly event: string;

  constructor(event: string, cause: unknown, virtualTime: number, lastEvents: TraceRecord[]) {
    super(`${event} threw at virtual time ${virtualTime} ms: ${describeCause(cause)}`, virtualTime, lastEvents, {
      cause,
    });
    this.name = 'SimHandlerError';
    this.event = event;
  }
}

/**
 * Code belonging to one event ran while another event was running (or after its own event had finished).
 * Almost always a promise that was not awaited: its continuation ran whenever its I/O happened to finish,
 * which differs from run to run and breaks replay.
 */
export class SimStrayContinuationError extends SimError {
  constructor(what: string, owner: string, running: string, virtualTime: number, lastEvents: TraceRecord[]) {
    super(
      `${what} was called by code started in ${owner}, but the simulation is running ${running}. ` +
        `A promise was not awaited: a handler must await all of its async work (or hand it to ` +
        `runtime.spawn / runtime.post), so that each event finishes before the next one starts.`,
      virtualTime,
      lastEvents,
    );
    this.name = 'SimStrayContinuationError';
  }
}

/** An event's handler has not finished after a long stretch of real time: it awaits something that never comes. */
export class SimStuckEventError extends SimError {
  constructor(event: string, realMs: number, virtualTime: number, lastEvents: TraceRecord[]) {
    super(
      `${event} has not finished after ${realMs} ms of real time. It is awaiting a promise that only a later ` +
        `simulation event could settle (a callback, a message, a timer), which cannot run until this one ends. ` +
        `Handlers must not wait for other events; client actors must wrap such promises in sim.waitFor(...).`,
      virtualTime,
      lastEvents,
    );
    this.name = 'SimStuckEventError';
  }
}

/** The simulation API was used in a way it cannot honour (e.g. sim.sleep outside a client actor). */
export class SimUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimUsageError';
  }
}

/** Thrown into a client actor whose sim.waitFor(...) timed out. */
export class WaitTimeoutError extends Error {
  readonly label: string;
  readonly timeoutMs: number;

  constructor(label: string, timeoutMs: number) {
    super(`"${label}" did not happen within ${timeoutMs} ms of virtual time`);
    this.name = 'WaitTimeoutError';
    this.label = label;
    this.timeoutMs = timeoutMs;
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}
