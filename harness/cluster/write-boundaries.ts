/**
 * Power cuts at every write boundary of a short scenario, each in turn.
 *
 * A write boundary is "just before the n-th write of store S" (raft engine or kv engine, counted together
 * from the moment the cluster is up). A first run of the scenario counts every store's writes; then the
 * scenario runs once per boundary, with the same seed, so everything up to the cut is the counted run
 * event for event. At the cut the store crashes mid-event (power-cut.ts); a second before, later it starts
 * again on what its disk kept, and the workload goes on. When the workload is done: every write it got
 * acknowledged reads back through the cluster and from every store's engine, and the invariant checks
 * (invariant-checks.ts, on in every cluster run) have held at every step, through the restart.
 *
 *   const problem = await sweepWriteBoundaries(scenario, seed);   // undefined, or what broke and where
 *
 * One boundary alone, with the usual failure block and kept trace: CUT=<store>:<n>; the scenario without any
 * cut: CUT=none (see runOneBoundary).
 */
import { bytesEqual } from '@impl/util/bytes.ts';
import { Sim } from '../sim/index.ts';
import { runSimTest } from '../sim/sim-test.ts';
import { Cluster, type ClusterOptions } from './cluster.ts';
import { cutPowerBeforeWrite, type PowerCut } from './power-cut.ts';

/** A write the workload got acknowledged: it must survive every power cut. */
export interface AckedWrite {
  key: Uint8Array;
  value: Uint8Array;
}

export interface BoundaryScenario {
  cluster: ClusterOptions;
  /** Virtual time budget of one run. */
  maxVirtualMs: number;
  /** The workload. It reports each acknowledged write with `acked`; it must work with one store down. */
  workload: (cluster: Cluster, sim: Sim, acked: (key: Uint8Array, value: Uint8Array) => void) => Promise<void>;
}

export interface Boundary {
  store: number;
  /** 1 = before the store's first write after the cluster came up. */
  write: number;
}

/** How long a store stays without power before it starts again, in virtual ms. */
const DOWN_MS = 1000;

interface RunResult {
  /** Writes per store while the workload ran (up to the cut, in a run with one). */
  writes: Map<number, number>;
  fired: boolean;
}

/** The body of one run: the workload with (or without) a cut at `boundary`, then the durability checks. */
async function boundaryRun(cluster: Cluster, sim: Sim, scenario: BoundaryScenario, boundary: Boundary | undefined): Promise<RunResult> {
  await cluster.start();
  // Writes are counted (and the cut armed) while the workload runs; the checks after it are not cut.
  let counting = true;
  const writes = new Map<number, number>();
  const cuts = new Map<number, PowerCut>();
  for (const store of cluster.storeIds()) {
    writes.set(store, 0);
    const cut = cutPowerBeforeWrite(sim, store, cluster.engines(store)!, {
      reason: `at write boundary ${store}:${boundary?.write}`,
      when: () => {
        if (!counting) return false;
        const n = writes.get(store)! + 1;
        writes.set(store, n);
        return boundary !== undefined && boundary.store === store && boundary.write === n;
      },
    });
    cuts.set(store, cut);
  }
  const cut = boundary === undefined ? undefined : cuts.get(boundary.store);
  if (boundary !== undefined && cut === undefined) throw new Error(`CUT names store ${boundary.store}, which the cluster does not have`);

  // The cut store starts again a second after it lost power, while the workload goes on. The restarter
  // runs in the counting run too (waiting for nothing), so that both runs have the same actors and events.
  let restarted = false;
  sim.spawnClient('restarter', async () => {
    if (!(await sim.waitUntil('a power cut', () => cut?.fired === true, { timeoutMs: scenario.maxVirtualMs }))) return;
    await sim.sleep(DOWN_MS);
    await cluster.startStore(boundary!.store);
    restarted = true;
  });

  const acked: AckedWrite[] = [];
  await scenario.workload(cluster, sim, (key, value) => acked.push({ key, value }));
  counting = false;
  const fired = cut?.fired ?? false;
  if (fired && !(await sim.waitUntil('the cut store to start again', () => restarted, { timeoutMs: 10 * DOWN_MS }))) {
    throw new Error(`store ${boundary!.store} did not start again within ${10 * DOWN_MS} ms of the end of the workload`);
  }

  // Nothing acknowledged is lost: through the cluster, and on every store's disk (each catches up).
  const latest = new Map<string, AckedWrite>();
  for (const w of acked) latest.set(Buffer.from(w.key).toString('hex'), w);
  for (const w of latest.values()) {
    const got = await cluster.get(w.key);
    if (!bytesEqual(got, w.value)) throw new Error(`acknowledged write of ${Buffer.from(w.key).toString()} lost: read ${Buffer.from(got).toString()}`);
  }
  for (const store of cluster.storeIds()) {
    for (const w of latest.values()) await cluster.mustGetEqual(store, w.key, w.value);
  }
  await cluster.shutdown();
  return { writes, fired };
}

/** One quiet run (no report printed): the counting run, or the run of one boundary. */
async function quietRun(scenario: BoundaryScenario, seed: number, boundary: Boundary | undefined): Promise<RunResult> {
  const sim = new Sim({ seed });
  let cluster: Cluster | undefined;
  try {
    return await sim.main(
      async () => {
        cluster = new Cluster(sim, scenario.cluster);
        return boundaryRun(cluster, sim, scenario, boundary);
      },
      { maxVirtualMs: scenario.maxVirtualMs },
    );
  } finally {
    sim.close();
    await cluster?.shutdown().catch(() => undefined);
  }
}

/**
 * What CUT in the environment asks for: undefined (not set: sweep every boundary), 'none' (the scenario alone,
 * without a cut: the counting run) or one boundary (CUT=<store>:<n>).
 */
export function boundaryFromEnv(env: Record<string, string | undefined> = process.env): Boundary | 'none' | undefined {
  const raw = env.CUT;
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'none') return 'none';
  const match = /^(\d+):(\d+)$/.exec(raw);
  if (match === null) throw new Error(`CUT must be <store>:<write> (e.g. CUT=2:17) or none; got '${raw}'`);
  return { store: Number(match[1]), write: Number(match[2]) };
}

/** Run one boundary (or, with 'none', the scenario without a cut) as an ordinary simulated test: failure block, kept trace. */
export async function runOneBoundary(scenario: BoundaryScenario, boundary: Boundary | 'none'): Promise<void> {
  let cluster: Cluster | undefined;
  try {
    await runSimTest(
      async (sim) => {
        cluster = new Cluster(sim, scenario.cluster);
        const { fired } = await boundaryRun(cluster, sim, scenario, boundary === 'none' ? undefined : boundary);
        if (boundary !== 'none' && !fired) {
          throw new Error(`store ${boundary.store} makes fewer than ${boundary.write} writes in this scenario: no cut`);
        }
      },
      { maxVirtualMs: scenario.maxVirtualMs },
    );
  } finally {
    await cluster?.shutdown().catch(() => undefined);
  }
}

export interface SweepResult {
  /** The boundaries run (every write of every store). */
  boundaries: number;
  /** Writes per store in the counting run. */
  writes: Map<number, number>;
  /** What broke at the first failing boundary, with the replay command; undefined when every one held. */
  problem: string | undefined;
}

/**
 * Count the scenario's writes, then cut the power at each write boundary of each store in turn. Stops at
 * the first boundary that breaks something.
 */
export async function sweepWriteBoundaries(scenario: BoundaryScenario, seed: number, replay: string): Promise<SweepResult> {
  let writes: Map<number, number>;
  try {
    ({ writes } = await quietRun(scenario, seed, undefined));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const problem =
      `the scenario failed before any power cut (the counting run; seed ${seed}): ${message}\n` +
      `replay it with its trace: CUT=none SEED=${seed} ${replay}`;
    return { boundaries: 0, writes: new Map(), problem };
  }
  let boundaries = 0;
  for (const [store, count] of writes) {
    for (let write = 1; write <= count; write++) {
      boundaries += 1;
      try {
        const { fired } = await quietRun(scenario, seed, { store, write });
        if (!fired) throw new Error(`the run did not reach write ${write} of store ${store}, though the counting run did: is the scenario deterministic?`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const problem =
          `power cut before write ${write} of store ${store} (of ${count}; seed ${seed}): ${message}\n` +
          `replay this boundary alone, with its trace: CUT=${store}:${write} SEED=${seed} ${replay}`;
        return { boundaries, writes, problem };
      }
    }
  }
  return { boundaries, writes, problem: undefined };
}
