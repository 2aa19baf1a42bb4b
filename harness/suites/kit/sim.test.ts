// The simulation core: virtual time and event order, run-to-completion of async handlers, client actors,
// crash and restart, and the detectors (livelock, deadlock, timeout, stray continuations, handler errors).
import { describe, expect, test } from 'vitest';
import { readFile } from 'node:fs/promises';
import {
  Sim,
  SimNetwork,
  SimDeadlockError,
  SimHandlerError,
  SimLivelockError,
  SimStrayContinuationError,
  SimStuckEventError,
  SimTimeoutError,
  SimUsageError,
  WaitTimeoutError,
  type SimNodeRuntime,
} from '../../sim/index.ts';
import { InvalidTimerError } from '@impl/runtime/runtime.ts';

/** A real (wall-clock) pause: the kind of await engine I/O causes. Allowed here, in the harness. */
function realPause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A node that only exposes its runtime, for tests that drive timers by hand. */
function bareNode(sim: Sim, id: number) {
  return sim.addNode(id, { start: (rt: SimNodeRuntime) => ({ rt }) });
}

describe('virtual time and event order', () => {
  test('timers fire at their virtual times, ties in scheduling order', async () => {
    const sim = new Sim({ seed: 1 });
    const node = bareNode(sim, 1);
    const { rt } = await node.start();
    const fired: string[] = [];
    rt.setTimer(30, () => void fired.push(`c@${rt.now()}`));
    rt.setTimer(10, () => void fired.push(`a@${rt.now()}`));
    rt.setTimer(10, () => void fired.push(`b@${rt.now()}`));
    rt.setTimer(0, () => void fired.push(`z@${rt.now()}`));
    expect(fired).toEqual([]); // nothing runs inline
    await sim.runFor(20);
    expect(fired).toEqual(['z@0', 'a@10', 'b@10']);
    expect(sim.now()).toBe(20);
    await sim.runFor(100);
    expect(fired).toEqual(['z@0', 'a@10', 'b@10', 'c@30']);
    expect(sim.now()).toBe(120);
  });

  test('every() repeats each period until cancelled; cancelled timers never run', async () => {
    const sim = new Sim({ seed: 2 });
    const { rt } = await bareNode(sim, 1).start();
    const ticks: number[] = [];
    const tick = rt.every(50, () => void ticks.push(rt.now()), 'tick');
    const never = rt.setTimer(60, () => void ticks.push(-1));
    never.cancel();
    await sim.runFor(220);
    expect(ticks).toEqual([50, 100, 150, 200]);
    tick.cancel();
    await sim.runFor(200);
    expect(ticks).toEqual([50, 100, 150, 200]);
  });

  test('a periodic timer can cancel itself from inside its own callback', async () => {
    const sim = new Sim({ seed: 3 });
    const { rt } = await bareNode(sim, 1).start();
    let runs = 0;
    const handle = rt.every(10, () => {
      runs++;
      if (runs === 3) handle.cancel();
    });
    await sim.runFor(100);
    expect(runs).toBe(3);
  });

  test('invalid delays are rejected at the call', async () => {
    const sim = new Sim({ seed: 4 });
    const { rt } = await bareNode(sim, 1).start();
    expect(() => rt.setTimer(-1, () => undefined)).toThrow(InvalidTimerError);
    expect(() => rt.setTimer(Number.NaN, () => undefined)).toThrow(InvalidTimerError);
    expect(() => rt.every(0, () => undefined)).toThrow(InvalidTimerError);
  });

  test('post and spawn run later, never inline, in order', async () => {
    const sim = new Sim({ seed: 5 });
    const { rt } = await bareNode(sim, 1).start();
    const order: string[] = [];
    rt.post('job', () => void order.push('post'));
    rt.spawn('gc', async () => void order.push('spawn'));
    order.push('caller');
    await sim.runFor(0);
    expect(order).toEqual(['caller', 'post', 'spawn']);
  });
});

describe('run to completion', () => {
  test("an event's async continuations finish before the next event starts", async () => {
    const sim = new Sim({ seed: 6 });
    const { rt } = await bareNode(sim, 1).start();
    const log: string[] = [];
    rt.setTimer(5, async () => {
      log.push('A start');
      await realPause(15); // real time passes; virtual time must not, and B must wait
      log.push('A after pause');
      await readFile(new URL(import.meta.url)); // real file I/O
      log.push('A end');
    });
    rt.setTimer(5, () => void log.push('B start'));
    rt.post('C', async () => {
      log.push('C start');
      await realPause(5);
      log.push('C end');
    });
    await sim.runFor(10);
    expect(log).toEqual(['C start', 'C end', 'A start', 'A after pause', 'A end', 'B start']);
  });

  test('a promise nobody awaited is caught when its continuation calls the runtime', async () => {
    const sim = new Sim({ seed: 7 });
    const { rt } = await bareNode(sim, 1).start();
    rt.setTimer(1, () => {
      // Bug under test: fire-and-forget async work (its continuation runs whenever the I/O finishes).
      // (The .catch keeps the stray chain's own rejection quiet; the run must fail regardless.)
      void realPause(10)
        .then(() => rt.setTimer(1, () => undefined, 'late'))
        .catch(() => undefined);
    });
    // Keep the simulation busy with other events while the stray continuation comes due.
    rt.every(1, async () => realPause(1), 'busy');
    const run = sim.runFor(1000);
    await expect(run).rejects.toThrow(SimStrayContinuationError);
    await expect(run).rejects.toThrow(/runtime\.setTimer was called by code started in the timer event on s1/);
  });

  test('an error thrown by a handler fails the run, naming the event', async () => {
    const sim = new Sim({ seed: 8 });
    const { rt } = await bareNode(sim, 1).start();
    rt.setTimer(3, async () => {
      await realPause(1);
      throw new Error('boom');
    }, 'explode');
    const run = sim.runFor(10);
    await expect(run).rejects.toThrow(SimHandlerError);
    await expect(run).rejects.toThrow(/timer on s1 \(explode\) threw at virtual time 3 ms: Error: boom/);
  });

  test('an error thrown by a background task fails the run too', async () => {
    const sim = new Sim({ seed: 9 });
    const { rt } = await bareNode(sim, 1).start();
    rt.spawn('snapshot', async () => {
      throw new Error('disk full');
    });
    await expect(sim.runFor(10)).rejects.toThrow(/spawn on s1 \(snapshot\) threw .*disk full/);
  });
});

describe('client actors', () => {
  test('sleep passes virtual time; main returns the client result', async () => {
    const sim = new Sim({ seed: 10 });
    const result = await sim.main(
      async () => {
        const t0 = sim.now();
        await sim.sleep(250);
        await sim.sleep(0);
        return sim.now() - t0;
      },
      { maxVirtualMs: 1000 },
    );
    expect(result).toBe(250);
  });

  test('clients interleave by virtual time, deterministically', async () => {
    const sim = new Sim({ seed: 11 });
    const log: string[] = [];
    const a = sim.spawnClient('a', async () => {
      for (let i = 0; i < 3; i++) {
        await sim.sleep(10);
        log.push(`a${i}@${sim.now()}`);
      }
    });
    const b = sim.spawnClient('b', async () => {
      for (let i = 0; i < 2; i++) {
        await sim.sleep(15);
        log.push(`b${i}@${sim.now()}`);
      }
    });
    await sim.runUntil(() => a.finished && b.finished, { maxVirtualMs: 100 });
    // At 30 both wake; b scheduled its wake-up first (at 15, a at 20), so b runs first.
    expect(log).toEqual(['a0@10', 'b0@15', 'a1@20', 'b1@30', 'a2@30']);
  });

  test('waitUntil wakes when the condition holds, or reports false on timeout', async () => {
    const sim = new Sim({ seed: 12 });
    const { rt } = await bareNode(sim, 1).start();
    let counter = 0;
    rt.every(10, () => void counter++);
    const out = await sim.main(
      async () => {
        const reached = await sim.waitUntil('counter reaches 5', () => counter >= 5);
        const at = sim.now();
        const never = await sim.waitUntil('counter goes negative', () => counter < 0, { timeoutMs: 100 });
        return { reached, at, never, end: sim.now() };
      },
      { maxVirtualMs: 1000 },
    );
    expect(out).toEqual({ reached: true, at: 50, never: false, end: 150 });
  });

  test('waitFor returns what the code under test resolves, and times out with WaitTimeoutError', async () => {
    const sim = new Sim({ seed: 13 });
    const { rt } = await bareNode(sim, 1).start();
    const out = await sim.main(
      async () => {
        const answer = new Promise<string>((resolve) => rt.setTimer(40, () => resolve('done')));
        const value = await sim.waitFor(answer, { label: 'callback', timeoutMs: 100 });
        const valueAt = sim.now();
        const silent = new Promise<string>(() => undefined);
        const err = await sim.waitFor(silent, { label: 'silent callback', timeoutMs: 30 }).catch((e: unknown) => e);
        return { value, valueAt, err, end: sim.now() };
      },
      { maxVirtualMs: 1000 },
    );
    expect(out.value).toBe('done');
    expect(out.valueAt).toBe(40);
    expect(out.err).toBeInstanceOf(WaitTimeoutError);
    expect(String(out.err)).toMatch(/"silent callback" did not happen within 30 ms/);
    expect(out.end).toBe(70);
  });

  test('a client error is the error of main', async () => {
    const sim = new Sim({ seed: 14 });
    await expect(
      sim.main(
        async () => {
          await sim.sleep(5);
          throw new Error('assertion failed in client');
        },
        { maxVirtualMs: 100 },
      ),
    ).rejects.toThrow('assertion failed in client');
  });

  test('a failing background client fails the run', async () => {
    const sim = new Sim({ seed: 15 });
    sim.spawnClient('chaos', async () => {
      await sim.sleep(5);
      throw new Error('chaos broke');
    });
    await expect(sim.runFor(100)).rejects.toThrow(/client actor "chaos" threw .*chaos broke/);
  });

  test('misuse is explained: waiting outside a client, or on two things at once', async () => {
    const sim = new Sim({ seed: 16 });
    expect(() => sim.sleep(1)).toThrow(SimUsageError);
    expect(() => sim.sleep(1)).toThrow(/only be called from a client actor/);
    const err = await sim
      .main(
        async () => {
          await Promise.all([sim.sleep(1), sim.sleep(2)]);
        },
        { maxVirtualMs: 100 },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimUsageError);
    expect(String(err)).toMatch(/already waiting for "sleep 1 ms" and now also for "sleep 2 ms"/);
  });

  test('node code cannot use client waits', async () => {
    const sim = new Sim({ seed: 17 });
    const { rt } = await bareNode(sim, 1).start();
    rt.setTimer(1, async () => {
      await sim.sleep(10);
    });
    await expect(sim.runFor(5)).rejects.toThrow(/sim\.sleep can only be called from a client actor.*timer event on s1/);
  });
});

describe('detectors', () => {
  test('livelock: events without virtual time advancing', async () => {
    const sim = new Sim({ seed: 18, livelockLimit: 1000 });
    const { rt } = await bareNode(sim, 1).start();
    const again = (): void => {
      rt.setTimer(0, again, 'again');
    };
    rt.setTimer(7, again, 'again');
    const err = await sim.runFor(100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimLivelockError);
    expect(String(err)).toMatch(/1000 events ran at virtual time 7 ms without the clock advancing/);
    expect((err as SimLivelockError).lastEvents.length).toBeGreaterThan(0);
    expect((err as SimLivelockError).lastEvents.at(-1)).toMatchObject({ t: 7, k: 'timer', n: 's1', d: 'again' });
  });

  test('deadlock: a client waits for a condition and nothing is left to run', async () => {
    const sim = new Sim({ seed: 19 });
    const { rt } = await bareNode(sim, 1).start();
    rt.setTimer(20, () => undefined, 'last timer');
    const err = await sim
      .main(async () => {
        await sim.waitUntil('a leader is elected', () => false);
      }, { maxVirtualMs: 10_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimDeadlockError);
    expect(String(err)).toMatch(/Deadlock at virtual time 20 ms/);
    expect(String(err)).toMatch(/client:main waiting for a leader is elected/);
  });

  test('deadlock: runUntil with an empty queue names its condition', async () => {
    const sim = new Sim({ seed: 20 });
    await expect(sim.runUntil(() => false, { maxVirtualMs: 100, label: 'three replicas agree' })).rejects.toThrow(
      /Deadlock at virtual time 0 ms.*"three replicas agree"/,
    );
  });

  test('timeout: runUntil gives up after its virtual time budget', async () => {
    const sim = new Sim({ seed: 21 });
    const { rt } = await bareNode(sim, 1).start();
    rt.every(50, () => undefined, 'tick');
    const err = await sim.runUntil(() => false, { maxVirtualMs: 1000, label: 'never' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimTimeoutError);
    expect(String(err)).toMatch(/Timed out after 1000 ms of virtual time \(now 1000 ms\) waiting for: "never"/);
    expect(sim.now()).toBe(1000);
  });

  test('stuck: a client awaiting a later event directly (without sim.waitFor) is stopped with advice', async () => {
    const sim = new Sim({ seed: 25, stuckEventRealMs: 50 });
    const { rt } = await bareNode(sim, 1).start();
    const err = await sim
      .main(async () => {
        // Bug under test: this timer can only fire after the client's step ends, which waits for the timer.
        await new Promise((resolve) => rt.setTimer(10, () => resolve(undefined)));
      }, { maxVirtualMs: 100 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimStuckEventError);
    expect(String(err)).toMatch(/client actor "main" has not finished after \d+ ms of real time.*sim\.waitFor/);
  });

  test('runs cannot nest', async () => {
    const sim = new Sim({ seed: 22 });
    const err = await sim
      .main(async () => {
        await sim.runFor(10);
      }, { maxVirtualMs: 100 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimUsageError);
  });
});

describe('crash and restart', () => {
  test('a crash throws away timers, posts and background tasks; the runtime goes dead', async () => {
    const sim = new Sim({ seed: 23 });
    const killed: number[] = [];
    const fired: string[] = [];
    const node = sim.addNode(1, {
      start: (rt) => {
        rt.every(10, () => void fired.push(`tick@${rt.now()}`), 'tick');
        return { rt };
      },
      kill: () => void killed.push(sim.now()),
    });
    const { rt } = await node.start();
    rt.setTimer(25, () => void fired.push('timer'));
    await sim.runFor(15);
    rt.post('job', () => void fired.push('post'));
    rt.spawn('gc', async () => void fired.push('spawn'));
    await node.crash();
    expect(node.up).toBe(false);
    expect(killed).toEqual([15]);
    expect(sim.lastEvents(1)[0]).toMatchObject({ k: 'crash', n: 's1' });
    expect(sim.lastEvents(1)[0]!.d).toBe('incarnation 1; dropped 1 every, 1 post, 1 spawn, 1 timer');
    // The dead incarnation's runtime does nothing.
    rt.setTimer(1, () => void fired.push('after crash'));
    rt.post('late', () => void fired.push('after crash'));
    await sim.runFor(100);
    expect(fired).toEqual(['tick@10']);
    expect(() => node.instance).toThrow(/s1 is down/);
  });

  test('crashNow cuts the power mid-event: earlier sends arrive, later effects are lost, kill runs after', async () => {
    const sim = new Sim({ seed: 26 });
    const net = new SimNetwork<string>(sim, { describe: (m) => m });
    const log: string[] = [];
    const disk: string[] = [];
    const node1 = sim.addNode(1, {
      start: (rt) => {
        const t = net.transport(rt);
        /** An engine wrapper as the cluster harness would write it: no writes after the power is cut. */
        const write = async (value: string): Promise<void> => {
          await realPause(1);
          if (!rt.alive) throw new Error('engine closed');
          disk.push(value);
        };
        rt.setTimer(10, async () => {
          t.send(2, 'ack before persisting'); // the bug a mid-event crash exposes
          rt.crashNow('before the raft write');
          t.send(2, 'after the cut');
          rt.setTimer(1, () => void log.push('timer after the cut'));
          await write('entry 5'); // throws: the node is dead
        }, 'handle ready');
        return t;
      },
      kill: () => void log.push(`kill @${sim.now()}`),
    });
    sim.addNode(2, {
      start: (rt) => {
        const t = net.transport(rt);
        t.listen((m) => void log.push(`s2 got: ${m}`));
        return t;
      },
    });
    await node1.start();
    await sim.startNode(2);
    await sim.runFor(100);
    expect(disk).toEqual([]);
    expect(node1.up).toBe(false);
    expect(log).toEqual(['kill @10', 's2 got: ack before persisting']);
    const notes = sim.lastEvents().filter((r) => r.n === 's1').map((r) => `${r.k} ${r.d}`);
    expect(notes).toContain('note power cut: before the raft write');
    expect(notes).toContain('note error after the crash (ignored): engine closed');
  });

  test('restart builds a fresh incarnation with the factory', async () => {
    const sim = new Sim({ seed: 24 });
    let built = 0;
    const node = sim.addNode(3, {
      start: (rt) => {
        built++;
        let ticks = 0;
        rt.every(10, () => void ticks++);
        return { incarnation: built, ticks: () => ticks };
      },
    });
    await node.start();
    await sim.runFor(35);
    expect(node.instance.ticks()).toBe(3);
    const second = await node.restart();
    expect(second.incarnation).toBe(2);
    await sim.runFor(25);
    expect(second.ticks()).toBe(2);
    await expect(node.start()).rejects.toThrow(/already up/);
  });
});
