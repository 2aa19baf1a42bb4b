/**
 * The Runtime a node sees in the simulation (the product's Runtime interface): its clock, timers, posted
 * jobs, background tasks and random stream are all events and draws of the simulation.
 *
 * A runtime is bound to one incarnation of its node: once the node crashes, this runtime is dead and its
 * timers, posts, spawns and sends do nothing (a new incarnation gets a new runtime).
 */
import { checkDelay, checkPeriod, jobLabel, type Job, type RandomSource, type Runtime, type TimerHandle } from '@impl/runtime/runtime.ts';
import type { SeededRandom } from '@impl/util/prng.ts';
import type { EventLoop, SimEvent } from './event-loop.ts';
import type { Incarnation, SimNodes } from './nodes.ts';
import type { TraceKind } from './trace.ts';

export class SimNodeRuntime implements Runtime {
  readonly random: RandomSource;
  private readonly stream: SeededRandom;

  constructor(
    private readonly loop: EventLoop,
    private readonly nodes: SimNodes,
    private readonly incarnation: Incarnation,
    stream: SeededRandom,
  ) {
    this.stream = stream;
    this.random = {
      nextInt: (maxExclusive) => {
        loop.checkCaller('runtime.random');
        return this.stream.nextInt(maxExclusive);
      },
      nextFloat: () => {
        loop.checkCaller('runtime.random');
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
    this.loop.checkCaller('runtime.now');
    return this.loop.now();
  }

  setTimer(delayMs: number, fn: Job, label?: string): TimerHandle {
    checkDelay(delayMs);
    this.loop.checkCaller('runtime.setTimer');
    if (!this.alive) return { cancel: () => undefined };
    const event = this.schedule(delayMs, 'timer', jobLabel(label, fn, 'timer'), fn);
    return {
      cancel: () => {
        event.cancelled = true;
      },
    };
  }

  every(periodMs: number, fn: Job, label?: string): TimerHandle {
    checkPeriod(periodMs);
    this.loop.checkCaller('runtime.every');
    if (!this.alive) return { cancel: () => undefined };
    const name = jobLabel(label, fn, 'every');
    let cancelled = false;
    let pending: SimEvent | undefined;
    const arm = (): void => {
      pending = this.schedule(periodMs, 'every', name, () => {
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
    this.loop.checkCaller('runtime.post');
    if (!this.alive) return;
    this.schedule(0, 'post', label, fn);
  }

  spawn(name: string, task: () => Promise<void>): void {
    this.loop.checkCaller('runtime.spawn');
    if (!this.alive) return;
    this.schedule(0, 'spawn', name, task);
  }

  /**
   * Crash this node right here, in the middle of its current event (see SimNodes.crashInEvent). For fault
   * injection at a precise point, e.g. an engine wrapper cutting the power just before a write.
   */
  crashNow(reason: string): void {
    this.nodes.crashInEvent(this.incarnation, reason);
  }

  /** Add a line to the trace on behalf of this node (e.g. "became leader at term 3"). */
  note(text: string): void {
    if (!this.alive) return;
    this.loop.record('note', this.name, text);
  }

  /** Work of this incarnation, `delayMs` from now (skipped by the event loop once it has crashed). */
  private schedule(delayMs: number, kind: TraceKind, detail: string, run: Job): SimEvent {
    return this.loop.schedule(delayMs, kind, this.name, detail, this.incarnation, undefined, run);
  }
}
