/**
 * Client actors: the test's own async code running inside the simulation (sim.main, sim.spawnClient).
 *
 * A client runs in steps. A step runs until the client waits on the simulation (sleep, waitUntil, waitFor):
 * the step ends there (the client is parked), and the rest of the client runs as a later event, when the
 * wait is over. A client waits for one thing at a time; more concurrency means more client actors.
 */
import { checkDelay } from '@impl/runtime/runtime.ts';
import { ClientActor, type ClientWait, type Outcome } from './client-actor.ts';
import { deferred } from './deferred.ts';
import { SimHandlerError, SimUsageError, WaitTimeoutError } from './errors.ts';
import { describeOwner, type EventLoop } from './event-loop.ts';

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

/** Every client actor's steps and waits. */
export class SimClients {
  private readonly conditionWaits = new Map<ClientWait, { actor: ClientActor; predicate: () => boolean }>();
  private readonly parked = new Set<ClientActor>();

  constructor(private readonly loop: EventLoop) {}

  /**
   * Start a client actor: `fn` runs inside the simulation, in steps, from the next event on. If it throws,
   * the run fails (unless `failRunOnError` is false, in which case only `done` rejects).
   */
  spawnClient<T>(name: string, fn: () => Promise<T>, options: { failRunOnError?: boolean } = {}): ClientHandle<T> {
    this.loop.checkCaller('sim.spawnClient');
    const actor = new ClientActor(name);
    const failRun = options.failRunOnError ?? true;
    const result = deferred<T>();
    result.promise.catch(() => undefined); // reported through the run, or by whoever awaits `done`
    const handle = { name, done: result.promise, finished: false };
    this.loop.schedule(0, 'client', actor.traceName, 'start', undefined, actor, () =>
      this.clientStep(actor, () => {
        this.loop.runAs(actor, () => {
          void (async () => fn())().then(
            (value) => this.clientFinished(actor, handle, () => result.resolve(value)),
            (error: unknown) =>
              this.clientFinished(actor, handle, () => {
                result.reject(error);
                if (failRun) {
                  this.loop.recordFault(new SimHandlerError(describeOwner(actor), error, this.loop.now(), this.loop.trace.last()));
                }
              }),
          );
        });
      }),
    );
    return handle;
  }

  /** In a client actor: let `ms` of virtual time pass. */
  sleep(ms: number): Promise<void> {
    checkDelay(ms);
    return this.park<void>('sim.sleep', `sleep ${ms} ms`, (actor, wait) => {
      this.loop.schedule(ms, 'client', actor.traceName, `after ${wait.label}`, undefined, actor, () =>
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
        this.loop.schedule(0, 'client', actor.traceName, `after ${label}`, undefined, actor, () =>
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

  /** Wake clients whose condition now holds, in the order they started waiting (run after every event). */
  checkConditions(): void {
    if (this.conditionWaits.size === 0) return;
    for (const [wait, { actor, predicate }] of [...this.conditionWaits]) {
      let holds: boolean;
      try {
        holds = predicate();
      } catch (err) {
        this.loop.recordFault(
          new SimHandlerError(`the condition "${wait.label}" of ${describeOwner(actor)}`, err, this.loop.now(), this.loop.trace.last()),
        );
        return;
      }
      if (!holds) continue;
      this.conditionWaits.delete(wait);
      if (wait.timeoutEvent !== undefined) wait.timeoutEvent.cancelled = true;
      this.loop.schedule(0, 'client', actor.traceName, `after ${wait.label}`, undefined, actor, () =>
        this.resumeClient(actor, wait, { ok: true, value: true }),
      );
    }
  }

  /** What every parked client waits for (for deadlock and timeout reports). */
  awaitedByClients(): string[] {
    return [...this.parked].map((a) => `${a.traceName} waiting for ${a.wait?.label ?? '?'}`);
  }

  private armTimeout(actor: ClientActor, wait: ClientWait, timeoutMs: number | undefined, outcome: Outcome): void {
    if (timeoutMs === undefined) return;
    checkDelay(timeoutMs);
    wait.timeoutEvent = this.loop.schedule(timeoutMs, 'client', actor.traceName, `timeout ${wait.label}`, undefined, actor, () =>
      this.resumeClient(actor, wait, outcome),
    );
  }

  /** The client actor whose step is running now, or a usage error naming `what`. */
  private currentClient(what: string, label: string): ClientActor {
    const owner = this.loop.currentOwner();
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
    this.loop.checkCaller(what);
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
}
