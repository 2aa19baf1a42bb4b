/**
 * The real runtime: the Runtime interface over Node's clock and timers, for the server binaries.
 *
 * This file (with the rest of reference/runtime/) is the only place in reference/ allowed to touch
 * Date.now, performance.now, setTimeout, setInterval and setImmediate. Randomness is still a SeededRandom;
 * its seed comes from node:crypto unless the caller gives one (and is exposed as `seed` so a server can log it).
 *
 * It keeps the actor contract of runtime.ts with a job queue: timer callbacks, posted jobs and inbound
 * messages wait in one FIFO and run one at a time, each awaited before the next. Background tasks (spawn)
 * run beside the queue.
 */
import { randomInt } from 'node:crypto';
import { SeededRandom } from '../util/prng.ts';
import { checkDelay, checkPeriod, jobLabel } from './runtime.ts';
import type { Job, Runtime, TimerHandle } from './runtime.ts';

/** Where a failure happened: the kind of work and its label. */
export interface RuntimeErrorContext {
  kind: 'timer' | 'every' | 'post' | 'spawn';
  label: string;
}

export interface RealRuntimeOptions {
  /** Names this runtime in error reports (e.g. "store 1"). */
  name?: string;
  /** Seed for `random`. Without one, a fresh seed is drawn from node:crypto. */
  seed?: number;
  /** Receives every error thrown by a job or a background task. Default: print it with console.error. */
  onError?: (err: unknown, where: RuntimeErrorContext) => void;
}

interface QueuedJob {
  kind: RuntimeErrorContext['kind'];
  label: string;
  fn: Job;
  /** Called when the job has finished (used by every() to skip overlapping periods). */
  finished?: () => void;
}

export class RealRuntime implements Runtime {
  readonly name: string;
  readonly seed: number;
  readonly random: SeededRandom;

  private readonly onError: (err: unknown, where: RuntimeErrorContext) => void;
  /** The wall-clock time at performance.now() == 0, so now() follows the wall clock but never goes back. */
  private readonly clockOrigin = Date.now() - performance.now();
  private readonly jobs: QueuedJob[] = [];
  private draining = false;
  private drained: Promise<void> = Promise.resolve();
  private readonly liveTimers = new Set<{ stop(): void }>();
  private readonly runningTasks = new Set<Promise<void>>();
  private stopped = false;

  constructor(options: RealRuntimeOptions = {}) {
    this.name = options.name ?? 'runtime';
    this.seed = options.seed ?? randomInt(0, 0x1_0000_0000);
    this.random = new SeededRandom(this.seed);
    this.onError =
      options.onError ??
      ((err, where) => {
        console.error(`[${this.name}] ${where.kind} "${where.label}" failed:`, err);
      });
  }

  now(): number {
    return Math.floor(this.clockOrigin + performance.now());
  }

  setTimer(delayMs: number, fn: Job, label?: string): TimerHandle {
    checkDelay(delayMs);
    const name = jobLabel(label, fn, 'timer');
    let cancelled = false;
    const timer = {
      stop: () => {
        cancelled = true;
        clearTimeout(handle);
        this.liveTimers.delete(timer);
      },
    };
    const handle = setTimeout(() => {
      this.liveTimers.delete(timer);
      this.enqueue({ kind: 'timer', label: name, fn: () => (cancelled ? undefined : fn()) });
    }, delayMs);
    this.liveTimers.add(timer);
    return { cancel: timer.stop };
  }

  every(periodMs: number, fn: Job, label?: string): TimerHandle {
    checkPeriod(periodMs);
    const name = jobLabel(label, fn, 'every');
    let cancelled = false;
    let previousStillQueued = false;
    const handle = setInterval(() => {
      if (previousStillQueued) return; // the last period is still waiting or running: skip this one
      previousStillQueued = true;
      this.enqueue({
        kind: 'every',
        label: name,
        fn: () => (cancelled ? undefined : fn()),
        finished: () => {
          previousStillQueued = false;
        },
      });
    }, periodMs);
    const timer = {
      stop: () => {
        cancelled = true;
        clearInterval(handle);
        this.liveTimers.delete(timer);
      },
    };
    this.liveTimers.add(timer);
    return { cancel: timer.stop };
  }

  waitingJobs(): number {
    return this.jobs.length;
  }

  post(label: string, fn: Job): void {
    this.enqueue({ kind: 'post', label, fn });
  }

  spawn(name: string, task: () => Promise<void>): void {
    if (this.stopped) return;
    // setImmediate: the task starts on a later turn of the event loop, never inside the caller.
    const done = new Promise<void>((resolve) => {
      setImmediate(() => {
        let running: Promise<void>;
        try {
          running = Promise.resolve(task());
        } catch (err) {
          running = Promise.reject(err);
        }
        running.catch((err: unknown) => this.onError(err, { kind: 'spawn', label: name })).finally(resolve);
      });
    });
    this.runningTasks.add(done);
    void done.then(() => this.runningTasks.delete(done));
  }

  /**
   * Stop: cancel every timer, refuse new jobs and tasks, then wait for the queued jobs and the running
   * background tasks to finish. Used when a server shuts down and by tests.
   */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of [...this.liveTimers]) timer.stop();
    await this.drained;
    while (this.runningTasks.size > 0) {
      await Promise.all([...this.runningTasks]);
    }
  }

  private enqueue(job: QueuedJob): void {
    if (this.stopped) {
      job.finished?.();
      return;
    }
    this.jobs.push(job);
    if (!this.draining) {
      this.draining = true;
      this.drained = new Promise<void>((resolve) => {
        // Start on a later turn so that a job is never run inside the code that queued it.
        setImmediate(() => {
          void this.drain().finally(resolve);
        });
      });
    }
  }

  /** Run queued jobs one at a time, each to completion, until the queue is empty. */
  private async drain(): Promise<void> {
    try {
      for (let job = this.jobs.shift(); job !== undefined; job = this.jobs.shift()) {
        try {
          await job.fn();
        } catch (err) {
          this.onError(err, { kind: job.kind, label: job.label });
        } finally {
          job.finished?.();
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
