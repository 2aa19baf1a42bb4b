/**
 * Kit: the linearizability checker (harness/history/linearizability.ts) on histories whose answer is known:
 * the classic small ones, timed-out operations, errors, generated linearizable histories (and the same with
 * one read changed, which must be caught), the smallest failing window it reports, and that window as text
 * and as an HTML diagram (rendered in a real headless browser).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { describeWindow, historyHtml } from '../../history/history-html.ts';
import { checkKvHistory, type KvOperation } from '../../history/linearizability.ts';
import { linearizableHistory } from '../../history/generate.ts';
import { HistoryRecorder } from '../../history/recorder.ts';
import { SeededRandom } from '@impl/util/prng.ts';

let nextId = 0;
function put(key: string, value: string, invoke: number, ret: number | undefined, client = 0): KvOperation {
  return { id: nextId++, client, kind: 'put', key, value, invoke, ret, outcome: ret === undefined ? 'unknown' : 'ok' };
}
function del(key: string, invoke: number, ret: number, client = 0): KvOperation {
  return { id: nextId++, client, kind: 'delete', key, invoke, ret, outcome: 'ok' };
}
function get(key: string, output: string | null, invoke: number, ret: number, client = 1): KvOperation {
  return { id: nextId++, client, kind: 'get', key, output, invoke, ret, outcome: 'ok' };
}

describe('linearizability checker: small histories', () => {
  it('a sequential history that a map explains is ok', () => {
    const h = [put('x', '1', 0, 10), get('x', '1', 20, 30), del('x', 40, 50), get('x', null, 60, 70), get('y', null, 0, 5)];
    expect(checkKvHistory(h)).toMatchObject({ verdict: 'ok', keys: 2, operations: 5 });
  });

  it('a read of a value overwritten before the read began (stale read) is a violation', () => {
    const h = [put('x', '1', 0, 10), put('x', '2', 20, 30), get('x', '1', 40, 50)];
    const result = checkKvHistory(h);
    expect(result.verdict).toBe('violation');
  });

  it('a read that sees a write, then a later read that does not (new-old inversion) is a violation', () => {
    const h = [put('x', '1', 0, 100), get('x', '1', 10, 20), get('x', null, 30, 40)];
    expect(checkKvHistory(h).verdict).toBe('violation');
  });

  it('reads during a slow write may see the old value and then the new one', () => {
    const h = [put('x', '1', 0, 100), get('x', null, 10, 20), get('x', '1', 30, 40)];
    expect(checkKvHistory(h).verdict).toBe('ok');
  });

  it('two overlapping writes may take effect in either order', () => {
    const a = [put('x', '1', 0, 50), put('x', '2', 10, 60, 2), get('x', '1', 70, 80)];
    const b = [put('x', '1', 0, 50), put('x', '2', 10, 60, 2), get('x', '2', 70, 80)];
    expect(checkKvHistory(a).verdict).toBe('ok');
    expect(checkKvHistory(b).verdict).toBe('ok');
  });

  it('operations that touch at one instant overlap (virtual time has ties)', () => {
    const h = [put('x', '1', 0, 10), get('x', null, 10, 20)];
    expect(checkKvHistory(h).verdict).toBe('ok');
  });

  it('a read of a value nobody wrote is a violation', () => {
    expect(checkKvHistory([get('x', 'ghost', 0, 10)]).verdict).toBe('violation');
  });

  it('a lost acknowledged write: a later read sees the value from before it', () => {
    const h = [put('x', '1', 0, 10), put('x', '2', 20, 30, 2), get('x', '1', 40, 50), get('x', '2', 60, 70)];
    expect(checkKvHistory(h).verdict).toBe('violation');
  });
});

describe('linearizability checker: timed-out and failed operations', () => {
  it('a write that timed out may have happened, late, or not at all', () => {
    const happened = [put('x', '1', 0, undefined), get('x', '1', 500, 510)];
    const notYet = [put('x', '1', 0, undefined), get('x', null, 500, 510)];
    const late = [put('x', '1', 0, undefined), get('x', null, 500, 510), get('x', '1', 900, 910)];
    for (const h of [happened, notYet, late]) expect(checkKvHistory(h).verdict).toBe('ok');
  });

  it('but once seen, a timed-out write cannot un-happen', () => {
    const h = [put('x', '1', 0, undefined), get('x', '1', 500, 510), get('x', null, 600, 610)];
    expect(checkKvHistory(h).verdict).toBe('violation');
  });

  it('a write that failed did not happen: reading its value is a violation', () => {
    const failed: KvOperation = { ...put('x', '1', 0, 10), outcome: 'error' };
    expect(checkKvHistory([failed, get('x', '1', 20, 30)]).verdict).toBe('violation');
  });

  it('a read that timed out tells nothing', () => {
    const lost: KvOperation = { id: nextId++, client: 3, kind: 'get', key: 'x', invoke: 0, outcome: 'unknown' };
    expect(checkKvHistory([put('x', '1', 0, 10), lost]).verdict).toBe('ok');
  });

  it('a malformed history is refused with a clear error', () => {
    const noValue: KvOperation = { id: 1, client: 0, kind: 'put', key: 'x', invoke: 0, ret: 1, outcome: 'ok' };
    expect(() => checkKvHistory([noValue])).toThrow(/a put needs a value/);
    const backwards = put('x', '1', 10, 5);
    expect(() => checkKvHistory([backwards])).toThrow(/before its call/);
    const a = put('x', '1', 0, 1);
    expect(() => checkKvHistory([a, { ...a }])).toThrow(/id is used twice/);
  });
});

describe('linearizability checker: the window it reports', () => {
  it('is the few operations around the violation, not the whole history', () => {
    const h: KvOperation[] = [];
    let t = 0;
    for (let i = 0; i < 40; i++, t += 20) {
      h.push(put('x', `a${i}`, t, t + 5));
      h.push(get('x', `a${i}`, t + 10, t + 15));
    }
    // The stale read: after a41 was written, a read answers a40.
    h.push(put('x', 'a40', t, t + 5), put('x', 'a41', t + 10, t + 15), get('x', 'a40', t + 20, t + 25));
    for (let i = 0; i < 40; i++) h.push(put('x', `b${i}`, t + 100 + 20 * i, t + 105 + 20 * i));
    const result = checkKvHistory(h);
    expect(result.verdict).toBe('violation');
    if (result.verdict !== 'violation') return;
    expect(result.key).toBe('x');
    expect(result.window.map((o) => o.value ?? o.output)).toEqual(['a41', 'a40']);
  });

  it('keeps earlier writes that timed out: they could land inside the window', () => {
    const h = [
      put('x', 'early', 0, undefined, 5),
      put('x', '1', 100, 110),
      get('x', 'early', 200, 210),
      get('x', '1', 300, 310),
    ];
    const result = checkKvHistory(h);
    expect(result.verdict).toBe('violation');
    if (result.verdict !== 'violation') return;
    expect(result.window.some((o) => o.value === 'early')).toBe(true);
  });
});

describe('linearizability checker: generated histories', () => {
  it('every history played against a correct map is ok (200 histories, with timeouts)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (seed) => {
        const rng = new SeededRandom(seed);
        const h = linearizableHistory({ operations: 200, keys: 4, clients: 5, timeoutRate: 0.05, random: () => rng.nextFloat() });
        expect(checkKvHistory(h).verdict).toBe('ok');
      }),
      { numRuns: 200, seed: 1 },
    );
  });

  it('changing one read to a value never written makes every such history a violation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.nat(), (seed, pick) => {
        const rng = new SeededRandom(seed);
        const h = linearizableHistory({ operations: 100, keys: 3, clients: 4, timeoutRate: 0.05, random: () => rng.nextFloat() });
        const reads = h.filter((o) => o.kind === 'get' && o.outcome === 'ok');
        fc.pre(reads.length > 0);
        const victim = reads[pick % reads.length]!;
        const broken = h.map((o) => (o === victim ? { ...o, output: 'never-written' } : o));
        const result = checkKvHistory(broken);
        expect(result.verdict).toBe('violation');
        if (result.verdict === 'violation') expect(result.window.map((o) => o.id)).toContain(victim.id);
      }),
      { numRuns: 200, seed: 2 },
    );
  });

  it('agrees with a brute-force search on 1,500 small random histories (repeated values, unknown writes)', () => {
    const op = fc.record({
      kind: fc.constantFrom('get', 'put', 'delete'),
      value: fc.constantFrom('a', 'b', 'c'),
      output: fc.constantFrom(null, 'a', 'b', 'c'),
      invoke: fc.nat({ max: 20 }),
      length: fc.nat({ max: 8 }),
      unknown: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 7 }), (specs) => {
        const h: KvOperation[] = specs.map((o, id) => ({
          id,
          client: id,
          kind: o.kind,
          key: 'k',
          ...(o.kind === 'put' ? { value: o.value } : {}),
          ...(o.kind === 'get' ? { output: o.output } : {}),
          invoke: o.invoke,
          ...(o.unknown ? {} : { ret: o.invoke + o.length }),
          outcome: o.unknown ? 'unknown' : 'ok',
        }));
        expect(checkKvHistory(h).verdict).toBe(bruteForceLinearizable(h) ? 'ok' : 'violation');
      }),
      { numRuns: 1500, seed: 3 },
    );
  });

  it('a write retried many times (every attempt may have taken effect) is decided quickly', () => {
    // 60 attempts of one write that failed without an answer, then one that succeeded; another client
    // writes in between; reads see both values in an order that two applications of "a" explain.
    const h: KvOperation[] = [];
    for (let i = 0; i < 60; i++) h.push(put('k', 'a', i * 10, undefined, 0));
    h.push(put('k', 'a', 600, 610, 0));
    h.push(get('k', 'a', 100, 105, 2));
    h.push(put('k', 'b', 200, 210, 1));
    h.push(get('k', 'b', 220, 230, 2));
    h.push(get('k', 'a', 700, 710, 2));
    const ok = checkKvHistory(h);
    expect(ok.verdict).toBe('ok');
    expect(ok.steps).toBeLessThan(10_000);
    // "a" back once more after another write of "b": one more attempt landing late explains it.
    const late = [...h, put('k', 'b', 720, 730, 1), get('k', 'a', 740, 750, 2)];
    expect(late.length).toBe(h.length + 2);
    const lateResult = checkKvHistory(late);
    expect(lateResult.verdict).toBe('ok'); // an unknown attempt may land after 730: still explained
    // Had every failed attempt been refused for good, the early read of "a" would have nothing to read.
    const settled = late.map((o) => (o.outcome === 'unknown' ? { ...o, outcome: 'error' as const, ret: o.invoke + 5 } : o));
    expect(checkKvHistory(settled).verdict).toBe('violation');
  });

  it('a history of 10,000 operations over 100 keys is decided, well inside the default step budget', () => {
    const rng = new SeededRandom(7);
    const h = linearizableHistory({ operations: 10_000, keys: 100, clients: 8, timeoutRate: 0.01, random: () => rng.nextFloat() });
    const result = checkKvHistory(h);
    expect(result.verdict).toBe('ok');
    expect(result.steps).toBeLessThan(1_000_000);
  });

  it('a search that runs out of steps says unknown, never ok', () => {
    const rng = new SeededRandom(9);
    const h = linearizableHistory({ operations: 2_000, keys: 1, clients: 8, random: () => rng.nextFloat() });
    expect(checkKvHistory(h, { maxSteps: 100 })).toMatchObject({ verdict: 'unknown', key: 'k0' });
  });
});

/**
 * The definition, searched directly: some subset of the unknown writes, together with every operation that
 * answered, in some order that respects real time (an operation that answered before another was called
 * comes first), played on a register that starts empty, gives every read its answer.
 */
function bruteForceLinearizable(history: readonly KvOperation[]): boolean {
  const answered = history.filter((o) => o.outcome === 'ok');
  const maybe = history.filter((o) => o.outcome === 'unknown' && o.kind !== 'get');
  const retOf = (o: KvOperation) => o.ret ?? Infinity;
  const playable = (ops: KvOperation[]): boolean => {
    const placed = new Array<boolean>(ops.length).fill(false);
    const search = (count: number, value: string | null): boolean => {
      if (count === ops.length) return true;
      for (let i = 0; i < ops.length; i++) {
        if (placed[i]) continue;
        const o = ops[i]!;
        // Every operation that answered before o was called must be placed already.
        if (ops.some((p, j) => !placed[j] && j !== i && retOf(p) < o.invoke)) continue;
        if (o.kind === 'get' && (o.output ?? null) !== value) continue;
        placed[i] = true;
        const next = o.kind === 'put' ? o.value! : o.kind === 'delete' ? null : value;
        if (search(count + 1, next)) return true;
        placed[i] = false;
      }
      return false;
    };
    return search(0, null);
  };
  for (let mask = 0; mask < 1 << maybe.length; mask++) {
    const chosen = maybe.filter((_, i) => (mask >> i) & 1);
    if (playable([...answered, ...chosen])) return true;
  }
  return false;
}

describe('showing a violation', () => {
  const window = [put('x', '1', 100, 110, 0), put('x', '2', 120, 130, 2), get('x', '1', 140, 150, 1), put('x', '3', 90, undefined, 4)];

  it('as text: one line per operation in call order, with its client and times', () => {
    const lines = describeWindow(window).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/client 4 +put "x" = "3" \(outcome unknown\) +\[90 ms, no answer\]/);
    expect(lines[3]).toMatch(/client 1 +get "x" -> "1" +\[140 ms, 150 ms\]/);
  });

  it('as an HTML page that a real browser draws: a lane per client, a bar per operation', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'history-page-'));
    try {
      const page = path.join(dir, 'violation.html');
      const hostile: KvOperation = { ...get('x</script><b>', 'v', 100, 105, 7), output: '<img>' };
      fs.writeFileSync(page, historyHtml([...window, hostile], { title: 'x: not linearizable', notes: ['seed 42 <replay>'] }));
      const chromium = execFileSync(path.join(root, 'harness/tools/ensure-chromium.sh'), { encoding: 'utf8' }).trim();
      const dom = execFileSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${page}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60_000,
      });
      expect((dom.match(/<div class="lane">/g) ?? []).length).toBe(5);
      expect((dom.match(/<div class="op /g) ?? []).length).toBe(5);
      expect(dom).toContain('class="op put open"');
      expect(dom).toContain('get "x" -&gt; "1"');
      expect(dom).toContain('seed 42 &lt;replay&gt;');
      expect(dom).not.toContain('<img>');
      expect(dom).not.toContain('<b>');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('recording a history', () => {
  it('records calls and answers on the given clock, scans as reads of their keys, failures as unknown', async () => {
    let now = 0;
    const tick = (ms: number) => async () => {
      now += ms;
    };
    const h = new HistoryRecorder(() => now);
    await h.put(1, 'a', '1', tick(10));
    expect(await h.get(2, 'a', async () => ((now += 5), '1'))).toBe('1');
    await h.scan(3, ['a', 'b'], async () => ((now += 7), new Map([['a', '1'], ['z', 'not asked']])));
    await expect(h.delete(1, 'a', async () => Promise.reject(new Error('timed out')))).rejects.toThrow('timed out');
    const ops = h.operations();
    expect(ops.map((o) => [o.client, o.kind, o.key, o.invoke, o.ret, o.outcome, o.value ?? o.output])).toEqual([
      [1, 'put', 'a', 0, 10, 'ok', '1'],
      [2, 'get', 'a', 10, 15, 'ok', '1'],
      [3, 'get', 'a', 15, 22, 'ok', '1'],
      [3, 'get', 'b', 15, 22, 'ok', null],
      [1, 'delete', 'a', 22, undefined, 'unknown', undefined],
    ]);
    expect(checkKvHistory(ops).verdict).toBe('ok');
  });

  it('a stale read recorded through it is caught', async () => {
    let now = 0;
    const h = new HistoryRecorder(() => now);
    // Operations that touch at one instant overlap, so leave gaps between them.
    await h.put(1, 'k', 'old', async () => void (now += 1));
    now += 1;
    await h.put(1, 'k', 'new', async () => void (now += 1));
    now += 1;
    await h.get(2, 'k', async () => ((now += 1), 'old'));
    const result = checkKvHistory(h.operations());
    expect(result.verdict).toBe('violation');
    if (result.verdict === 'violation') expect(describeWindow(result.window)).toContain('get "k" -> "old"');
  });
});
