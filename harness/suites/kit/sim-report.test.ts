// Seeds and failure reports: the seed policy, the replay commands, the failure block, and runSimTest's
// handling of a failing and a passing test (trace file kept or removed).
import { describe, expect, test } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import {
  BadSeedError,
  SimLivelockError,
  formatFailure,
  parseSeed,
  replayCommands,
  runSimTest,
  testSeed,
  tracePath,
  type Sim,
  type TraceRecord,
} from '../../sim/index.ts';

describe('seed policy', () => {
  test('SEED from the environment is used and printed', () => {
    const printed: string[] = [];
    const seed = testSeed('TestBasic2B', { SEED: '1234' }, (line) => printed.push(line));
    expect(seed).toBe(1234);
    expect(printed).toEqual(['[sim] TestBasic2B: seed 1234 (from SEED)']);
  });

  test('without SEED a fresh seed is drawn and printed with how to replay it', () => {
    const printed: string[] = [];
    const seed = testSeed('x', {}, (line) => printed.push(line));
    expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32).toBe(true);
    expect(printed).toEqual([`[sim] x: seed ${seed} (fresh; replay with SEED=${seed})`]);
  });

  test('a malformed SEED is an error, not a silent fresh seed', () => {
    for (const bad of ['abc', '-1', '1.5', '99999999999', '0x10']) {
      expect(() => testSeed('x', { SEED: bad }, () => undefined)).toThrow(BadSeedError);
    }
    expect(parseSeed(' 42 ')).toBe(42);
    expect(parseSeed('4294967295')).toBe(4294967295);
  });
});

describe('replay commands and failure block', () => {
  test('a stage suite gets the vitest and the make command', () => {
    const cmds = replayCommands({
      testFile: 'harness/suites/2b/basic.test.ts',
      testName: 'TestBasic2B',
      seed: 77,
      impl: 'labs/2b',
    });
    expect(cmds.vitest).toBe(`IMPL='labs/2b' SEED=77 npx vitest run harness/suites/2b/basic.test.ts -t 'TestBasic2B$'`);
    expect(cmds.make).toBe(`make project2b IMPL='labs/2b' SEED=77 RUN='^TestBasic2B$'`);
  });

  test('a swarm run replays as one: SWARM=1 in both commands', () => {
    const cmds = replayCommands({ testFile: 'harness/suites/3b/x.test.ts', testName: 'TestOneSplit3B', seed: 3, impl: 'reference', swarm: true });
    expect(cmds.vitest).toBe(`SEED=3 SWARM=1 npx vitest run harness/suites/3b/x.test.ts -t 'TestOneSplit3B$'`);
    expect(cmds.make).toBe(`make project3b IMPL='reference' SEED=3 SWARM=1 RUN='^TestOneSplit3B$'`);
  });

  test('describe names join the pattern; regex and shell specials are escaped; kit tests have no make form', () => {
    const cmds = replayCommands({
      testFile: `${process.cwd()}/harness/suites/kit/x.test.ts`,
      testName: "group > it's (odd) [1]",
      seed: 5,
      impl: 'reference',
      swarm: false,
    });
    expect(cmds.vitest).toBe(
      `SEED=5 npx vitest run harness/suites/kit/x.test.ts -t 'group it'\\''s \\(odd\\) \\[1\\]$'`,
    );
    expect(cmds.make).toBeUndefined();
  });

  test('the failure block names the error, seed, hash, replay, trace file and last events', () => {
    const events: TraceRecord[] = [
      { i: 0, t: 0, k: 'start', n: 's1', d: 'incarnation 1' },
      { i: 1, t: 50, k: 'every', n: 's1', d: 'tick' },
      { i: 2, t: 60, k: 'send', n: 's1', d: '1->2 r1 MsgHeartbeat t1' },
      { i: 3, t: 100, k: 'every', n: 's1', d: 'tick' },
    ];
    const block = formatFailure({
      testFile: 'harness/suites/2a/x.test.ts',
      testName: 'TestLeaderElection2AA',
      seed: 9,
      impl: 'reference',
      swarm: false,
      error: new Error('expected 1 leader, got 2\nmore detail'),
      traceHash: '0123456789abcdef',
      lastEvents: events,
      traceFile: `${process.cwd()}/.tmp/traces/TestLeaderElection2AA-9.jsonl`,
      virtualTime: 50,
    });
    expect(block).toBe(
      [
        'FAILED TestLeaderElection2AA: Error: expected 1 leader, got 2',
        '  seed:        9',
        '  trace hash:  0123456789abcdef  (at virtual time 50 ms)',
        `  replay:      SEED=9 npx vitest run harness/suites/2a/x.test.ts -t 'TestLeaderElection2AA$'`,
        `          or:  make project2a IMPL='reference' SEED=9 RUN='^TestLeaderElection2AA$'`,
        '  full trace:  .tmp/traces/TestLeaderElection2AA-9.jsonl',
        '  see it:      make trace FILE=.tmp/traces/TestLeaderElection2AA-9.jsonl   (writes an HTML page to open in a browser)',
        '  more detail: add LOG_LEVEL=debug to either command (the logs go to stderr, not into the trace: same run, same hash)',
        '  last 2 events (virtual time, who, kind, detail; 2 periodic ticks left out):',
        '           0ms  s1     start  incarnation 1',
        '          60ms  s1     send   1->2 r1 MsgHeartbeat t1',
      ].join('\n'),
    );
  });
});

test('the failure block shows the state it is given, indented under "at the failure"', () => {
  const block = formatFailure({
    testFile: 'harness/suites/2b/x.test.ts',
    testName: 'TestBasic2B',
    seed: 1,
    impl: 'reference',
    swarm: false,
    error: new Error('boom'),
    traceHash: 'ff',
    lastEvents: [],
    state: '  store 1: down\n  store 2: 1 peer(s)',
  });
  expect(block.split('\n').slice(-3)).toEqual(['  at the failure:', '    store 1: down', '    store 2: 1 peer(s)']);
});

describe('runSimTest', () => {
  test('a failing test keeps its trace and gets the replay block in its message', async () => {
    const err = await runSimTest(
      async (sim: Sim) => {
        sim.note('about to fail');
        await sim.sleep(30);
        expect(1 + 1).toBe(3);
      },
      { maxVirtualMs: 100, seed: 5 },
    ).catch((e: unknown) => e);
    const file = tracePath(expect.getState().currentTestName!, 5);
    try {
      expect(err).toBeInstanceOf(Error);
      const message = (err as Error).message;
      expect(message).toMatch(/^expected 2 to be 3/);
      expect(message).toContain('  seed:        5');
      expect(message).toContain(
        `SEED=5 npx vitest run harness/suites/kit/sim-report.test.ts -t 'runSimTest a failing test keeps its trace and gets the replay block in its message$'`,
      );
      expect(message).toContain('.tmp/traces/runSimTest-a-failing-test-keeps-its-trace');
      expect(message).toMatch(/0ms {2}sim {4}note {3}about to fail/);
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file, 'utf8')).toContain('"d":"about to fail"');
    } finally {
      rmSync(file, { force: true });
    }
  });

  test('with KEEP_TRACE=1 a passing test keeps its trace file', async () => {
    const before = process.env.KEEP_TRACE;
    process.env.KEEP_TRACE = '1';
    const file = tracePath(expect.getState().currentTestName!, 8);
    try {
      await runSimTest(async (sim) => sim.sleep(10), { maxVirtualMs: 100, seed: 8 });
      expect(readFileSync(file, 'utf8')).toContain('"k":"client"');
    } finally {
      if (before === undefined) delete process.env.KEEP_TRACE;
      else process.env.KEEP_TRACE = before;
      rmSync(file, { force: true });
    }
  });

  test('a passing test removes its trace file', async () => {
    const result = await runSimTest(async (sim) => sim.sleep(10), { maxVirtualMs: 100, seed: 6 });
    expect(result.virtualMs).toBe(10);
    expect(existsSync(tracePath(expect.getState().currentTestName!, 6))).toBe(false);
  });

  test('simulation errors keep their type; their event list moves into the block', async () => {
    const err = await runSimTest(
      async (sim) => {
        const { rt } = await sim.addNode(1, { start: (rt) => ({ rt }) }).start();
        const spin = (): void => void rt.setTimer(0, spin, 'spin');
        spin();
        await sim.sleep(10);
      },
      { maxVirtualMs: 100, seed: 7, livelockLimit: 200, traceToFile: false },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimLivelockError);
    const message = (err as Error).message;
    expect(message).not.toContain('Last events:');
    expect(message).toContain('last 40 events');
    expect(message).toContain('s1     timer  spin');
  });
});
