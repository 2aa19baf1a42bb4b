/**
 * What the simulation knows of one client actor: its name, whether it is running a step, parked on a wait
 * or done, and the one thing it waits for. The event loop uses it to tell client steps from node events;
 * clients.ts drives it.
 */
import type { Deferred } from './deferred.ts';
import type { SimEvent } from './event-loop.ts';

/** How a wait ended: with a value, or with an error to throw into the client. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** One thing a client actor waits for. */
export interface ClientWait {
  label: string;
  settled: boolean;
  resume(outcome: Outcome): void;
  timeoutEvent?: SimEvent;
}

export class ClientActor {
  readonly traceName: string;
  state: 'new' | 'running' | 'parked' | 'done' = 'new';
  wait: ClientWait | undefined;
  /** Resolved when the current step ends: the client parked on a wait or finished. */
  stepEnd: Deferred<void> | undefined;

  constructor(readonly name: string) {
    this.traceName = `client:${name}`;
  }
}
