/** Kit: the latches that serialize transactional commands (given code in kv/transaction/latches.ts). */
import { describe, expect, it } from 'vitest';
import { LatchError, Latches } from '@impl/kv/transaction/latches.ts';

const k = (...b: number[]) => Uint8Array.from(b);

/** Let every queued microtask and promise continuation run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('kit: latches', () => {
  it('a command waits for the holder of any of its keys', async () => {
    const latches = new Latches();
    await latches.acquire([k(1), k(2)]);
    let second = false;
    const waiting = latches.acquire([k(2), k(3)]).then(() => {
      second = true;
    });
    await settle();
    expect(second).toBe(false);
    latches.release([k(1), k(2)]);
    await waiting;
    expect(second).toBe(true);
    expect(latches.size).toBe(2);
    latches.release([k(2), k(3)]);
    expect(latches.size).toBe(0);
  });

  it('commands on disjoint keys do not wait', async () => {
    const latches = new Latches();
    await latches.acquire([k(1)]);
    await latches.acquire([k(2)]);
    expect(latches.size).toBe(2);
  });

  it('duplicate keys in one command latch once and release cleanly', async () => {
    const latches = new Latches();
    await latches.acquire([k(3), k(3)]);
    expect(latches.size).toBe(1);
    latches.release([k(3), k(3)]);
    await latches.acquire([k(3)]);
    expect(latches.size).toBe(1);
  });

  it('withLatches serializes overlapping commands and releases on failure', async () => {
    const latches = new Latches();
    const log: string[] = [];
    const command = (name: string, fail: boolean) =>
      latches.withLatches([k(9)], async () => {
        log.push(`${name} start`);
        await settle();
        log.push(`${name} end`);
        if (fail) throw new Error(`${name} failed`);
      });
    const results = await Promise.allSettled([command('a', true), command('b', false), command('c', false)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    // No two commands overlap.
    for (let i = 0; i < log.length; i += 2) {
      expect(log[i].replace(' start', '')).toBe(log[i + 1].replace(' end', ''));
    }
    expect(latches.size).toBe(0);
  });

  it('releasing a key that is not latched is an error', () => {
    const latches = new Latches();
    expect(() => latches.release([k(1)])).toThrow(LatchError);
  });
});
