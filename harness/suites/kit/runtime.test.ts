// The real runtime (Node timers) and the in-process transport: timers, the actor job queue (one job at a
// time, never inline), background tasks with reported errors, seeded randomness, shutdown.
// These tests use real time; they assert what happens and in which order, never how long it took.
import { afterEach, describe, expect, test } from 'vitest';
import { RealRuntime, type RuntimeErrorContext } from '@impl/runtime/real-runtime.ts';
import { DuplicateStoreError, LocalTransportHub } from '@impl/runtime/local-transport.ts';
import { InvalidTimerError, type Runtime } from '@impl/runtime/runtime.ts';
import { SeededRandom } from '@impl/util/prng.ts';
import { Sim, SimNodeRuntime } from '../../sim/index.ts';

const started: RealRuntime[] = [];

/** A runtime whose errors are collected instead of printed. */
function runtime(name = 'test', seed?: number) {
  const errors: Array<{ err: unknown; where: RuntimeErrorContext }> = [];
  const rt = new RealRuntime({ name, seed, onError: (err, where) => errors.push({ err, where }) });
  started.push(rt);
  return { rt, errors };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Wait (in real time, polling) until `cond` holds; fail with `what` after a generous limit. */
async function until(what: string, cond: () => boolean, limitMs = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 2) {
    if (waited > limitMs) throw new Error(`gave up waiting for ${what}`);
    await pause(2);
  }
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((rt) => rt.shutdown()));
});

describe('RealRuntime', () => {
  test('both runtimes implement the same interface', async () => {
    const real: Runtime = runtime().rt;
    const sim = new Sim({ seed: 1 });
    const simRt: Runtime = await sim.addNode(1, { start: (rt) => rt }).start();
    expect(simRt).toBeInstanceOf(SimNodeRuntime);
    expect(simRt.now()).toBe(0);
    expect(real.now()).toBeGreaterThan(0);
  });

  test('now() follows the wall clock and never goes back', async () => {
    const { rt } = runtime();
    const before = Date.now();
    const a = rt.now();
    await pause(3);
    const b = rt.now();
    expect(Number.isInteger(a)).toBe(true);
    expect(a).toBeGreaterThanOrEqual(before - 1000);
    expect(a).toBeLessThanOrEqual(Date.now() + 1000);
    expect(b).toBeGreaterThanOrEqual(a);
  });

  test('setTimer fires once; cancel stops it; bad delays are refused', async () => {
    const { rt } = runtime();
    const fired: string[] = [];
    rt.setTimer(1, () => void fired.push('kept'));
    rt.setTimer(1, () => void fired.push('cancelled')).cancel();
    await until('the timer', () => fired.length > 0);
    await pause(10);
    expect(fired).toEqual(['kept']);
    expect(() => rt.setTimer(-5, () => undefined)).toThrow(InvalidTimerError);
    expect(() => rt.every(0, () => undefined)).toThrow(InvalidTimerError);
  });

  test('every() repeats until cancelled, and never overlaps a slow run of itself', async () => {
    const { rt } = runtime();
    let running = 0;
    let overlapped = false;
    let runs = 0;
    const tick = rt.every(1, async () => {
      running++;
      overlapped ||= running > 1;
      runs++;
      await pause(5); // slower than the period
      running--;
    });
    await until('three ticks', () => runs >= 3);
    tick.cancel();
    const after = runs;
    await pause(20);
    expect(overlapped).toBe(false);
    expect(runs).toBe(after); // a period already queued when cancelled does not run either
  });

  test('jobs run one at a time, in order, each to completion, never inline', async () => {
    const { rt } = runtime();
    const log: string[] = [];
    rt.post('first', async () => {
      log.push('first start');
      await pause(5);
      log.push('first end');
    });
    rt.post('second', () => void log.push('second'));
    rt.setTimer(0, () => void log.push('timer'));
    log.push('caller');
    await until('all jobs', () => log.length === 5);
    expect(log).toEqual(['caller', 'first start', 'first end', 'second', 'timer']);
  });

  test('waitingJobs tells a job how many jobs wait behind it', async () => {
    const { rt } = runtime();
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) rt.post(`job ${i}`, () => void seen.push(rt.waitingJobs()));
    expect(rt.waitingJobs()).toBe(3);
    await until('the jobs', () => seen.length === 3);
    expect(seen).toEqual([2, 1, 0]);
    // The simulation gives no such hint: a raftstore there handles its Readies at the end of every job.
    expect('waitingJobs' in SimNodeRuntime.prototype).toBe(false);
  });

  test('a failing job is reported and the queue goes on', async () => {
    const { rt, errors } = runtime('store 1');
    const log: string[] = [];
    rt.post('bad', () => {
      throw new Error('boom');
    });
    rt.post('good', () => void log.push('good'));
    await until('the good job', () => log.length === 1);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.where).toEqual({ kind: 'post', label: 'bad' });
    expect(String(errors[0]!.err)).toMatch(/boom/);
  });

  test('spawn runs later, beside the job queue, and its errors are reported', async () => {
    const { rt, errors } = runtime();
    const log: string[] = [];
    rt.post('slow job', async () => {
      log.push('job start');
      await pause(20);
      log.push('job end');
    });
    rt.spawn('snapshot', async () => {
      log.push('task');
    });
    rt.spawn('gc', async () => {
      throw new Error('compaction failed');
    });
    log.push('caller');
    await until('both', () => log.length === 4);
    expect(log[0]).toBe('caller');
    expect(log.indexOf('task')).toBeLessThan(log.indexOf('job end')); // not queued behind the job
    await until('the error', () => errors.length === 1);
    expect(errors[0]!.where).toEqual({ kind: 'spawn', label: 'gc' });
  });

  test('random is seeded: a given seed gives the PRNG sequence; without one a seed is drawn', () => {
    const { rt } = runtime('a', 1234);
    const reference = new SeededRandom(1234);
    expect([rt.random.nextInt(1000), rt.random.nextInt(1000)]).toEqual([reference.nextInt(1000), reference.nextInt(1000)]);
    const { rt: fresh } = runtime('b');
    expect(Number.isInteger(fresh.seed)).toBe(true);
    expect(fresh.seed).toBeGreaterThanOrEqual(0);
    expect(fresh.seed).toBeLessThan(2 ** 32);
  });

  test('shutdown stops timers, waits for queued work, then refuses new work', async () => {
    const { rt } = runtime();
    const log: string[] = [];
    rt.every(1, () => void log.push('tick'));
    rt.post('long', async () => {
      await pause(10);
      log.push('long done');
    });
    rt.spawn('task', async () => {
      await pause(10);
      log.push('task done');
    });
    await rt.shutdown();
    expect(log).toContain('long done');
    expect(log).toContain('task done');
    const count = log.length;
    rt.post('late', () => void log.push('late'));
    rt.setTimer(0, () => void log.push('late timer'));
    await pause(10);
    expect(log.length).toBe(count);
  });
});

describe('LocalTransportHub', () => {
  test('messages reach the receiver as jobs of its runtime, serialized with its other jobs', async () => {
    const hub = new LocalTransportHub<string>();
    const { rt: rt1 } = runtime('store 1');
    const { rt: rt2 } = runtime('store 2');
    const t1 = hub.endpoint(1, rt1);
    const t2 = hub.endpoint(2, rt2);
    const log: string[] = [];
    t2.listen(async (msg, from) => {
      log.push(`recv ${msg} from ${from}`);
    });
    rt2.post('busy', async () => {
      log.push('busy start');
      await pause(10);
      log.push('busy end');
    });
    t1.send(2, 'hello');
    log.push('sent');
    await until('delivery', () => log.length === 4);
    expect(log).toEqual(['sent', 'busy start', 'busy end', 'recv hello from 1']);
  });

  test('unknown or silent stores are counted, not thrown; store ids are unique', async () => {
    const hub = new LocalTransportHub<string>();
    const { rt } = runtime();
    const t1 = hub.endpoint(1, rt);
    hub.endpoint(2, runtime().rt); // never listens
    t1.send(7, 'to nobody');
    t1.send(2, 'to a deaf store');
    expect(hub.undeliverable).toBe(2);
    expect(() => hub.endpoint(1, rt)).toThrow(DuplicateStoreError);
    hub.close(1);
    expect(() => hub.endpoint(1, rt)).not.toThrow();
  });
});
