/**
 * TinyKV's GenericTest, in virtual time.
 *
 * Five stores. Three rounds; in each, `nclients` clients run for 5 virtual seconds. Client `cli` keeps
 * doing one of three things, at random: putting its next value (key "<cli> <j, 8 digits>", value
 * "x <cli> <j> y"; 40%), scanning all its keys and checking that the values, joined, are exactly the appends
 * it made so far, in order (30%), or working on a few keys every client shares (30%: a get, a put of a value
 * no one else writes, or a delete of one of SHARED_KEYS). TinyKV's clients only put and scan (half and
 * half), each on its own keys: the shared keys are ours, so that a read that misses another client's
 * acknowledged write, or a write lost between clients, can show. Every request is recorded (history, and
 * the trace as 'op' records), and after every round the whole history so far must be linearizable
 * (recorded-kv.ts).
 * Meanwhile, as options say:
 *   - unreliable: the network drops raft requests and replies, each with probability UNRELIABLE_DROP_RATE
 *     (one fixed rate for the whole chaos phase; TinyKV stacks a new 10% filter every cycle when there
 *     are no partitions, so its rate compounds; ours does not, on purpose);
 *   - partitions: every election timeout + up to 200 ms, the stores are split anew into two random,
 *     non-empty sides that cannot talk to each other;
 *   - confchange (3B): a chaos client adds or removes a random peer of a random region through scheduler
 *     operators, again and again;
 *   - split (3B): regions split when they pass 300 bytes (split size 200).
 *   - crash: once per round, at a random moment, a random store loses power just before one of its next
 *     1-60 engine writes (a seeded write boundary, in the middle of its work) and starts again an election
 *     timeout later (seededPowerCut).
 * After each round: heal the network and wait an election timeout; with crash, stop every store and start
 * them again; then check each client's appends (all present, once, in order, and no key of an earlier round
 * back from the dead) and delete its keys; with maxraftlog, check that no store keeps more than 2 * maxraftlog
 * entries of any region's log (applied index - truncated index); with confchange or split, check every
 * store's invariants (region map, range index, what destroyed peers left on disk: see invariants.ts). With
 * split, once the network is healed and before the checks delete the keys, the first region must be split as
 * soon as it holds more than regionMaxSize bytes (waitForFirstSplit). Last, the history of every request so
 * far (the appends, scans, shared-key operations and the checks' own scans and deletes) is checked for
 * linearizability; a violation prints the smallest window of operations no order explains and writes it as
 * an HTML diagram next to the trace; the verdict is printed after the last round.
 *
 * Randomness (clients' choices, partitions, chaos timing) comes from the seed; the test prints its seed and
 * trace hash. With SWARM=1 the fault parameters (drop rate, latencies, partition length, down time, log
 * limit, client count, split sizes) are drawn from the seed too, within the scenario's bounds (swarm.ts).
 */
import { expect } from 'vitest';
import type { metapb } from '#proto';
import { testConfig, type RaftstoreConfig } from '@impl/kv/raftstore/config.ts';
import { findPeerOnStore } from '@impl/kv/raftstore/region-util.ts';
import { bytes } from './keys.ts';
import { RecordedKv } from './recorded-kv.ts';
import { ClusterCheckError } from './errors.ts';
import type { Cluster } from './cluster.ts';
import { runClusterTest } from './run-cluster-test.ts';
import { checkStoreInvariants } from './invariants.ts';
import { checkRegionSplit } from '@impl/kv/raftstore/split-check.ts';
import { randomSplit, testSeed, type FilterHandle, type Sim, type SimTestOptions, type SimTestResult } from '../sim/index.ts';
import { describeSwarm, drawSwarm, swarmEnabled, type SwarmParameters } from './swarm.ts';
import { cutPowerBeforeWrite } from './power-cut.ts';
import type { SeededRandom } from '@impl/util/prng.ts';

/** Drop probability of each raft request and each reply in unreliable rounds (fixed; does not compound). */
const UNRELIABLE_DROP_RATE = 0.1;

/** The keys every client reads and writes (outside every client's own key range: "s" sorts after digits). */
const SHARED_KEYS = ['shared 0', 'shared 1', 'shared 2'];

export interface GenericTestOptions {
  /** The stage in the title: "2B", "2C", "3B". */
  part: string;
  nclients: number;
  unreliable: boolean;
  crash: boolean;
  partitions: boolean;
  /** Raft log GC count limit, or -1 for the default (no log-size check). */
  maxraftlog: number;
  confchange: boolean;
  split: boolean;
  /** Rounds (default 3, as TinyKV). Fewer only for the kit's own quick checks. */
  rounds?: number;
  /** Virtual length of a round's client load (default 5000 ms, as TinyKV). */
  roundMs?: number;
  /** Number of stores (default 5, as TinyKV). */
  stores?: number;
  /** Deadline of one client request in virtual ms (default 60 000; see below). */
  requestTimeoutMs?: number;
  /** Simulation options for runSimTest (seed, virtual time budget...). */
  sim?: Partial<SimTestOptions>;
}

/** What a finished GenericTest reports. */
export interface GenericTestReport {
  /** Puts acknowledged per round, per client. */
  putsPerRound: number[][];
  /** Scans that checked a client's appends during the load. */
  scans: number;
  /** Chaos cycles (partition / drop changes). */
  chaosCycles: number;
  /** Conf changes done by the confchange client. */
  confChanges: number;
  /** Gets, puts and deletes of the shared keys. */
  sharedOps: number;
  /** Requests recorded in the history (a scan counts once per key it read). */
  historyOps: number;
}

/** Shared flags between the test's main actor and the actors it spawns. */
interface RoundState {
  clientsDone: boolean;
  chaosDone: boolean;
  confDone: boolean;
  powerCutDone: boolean;
}

/** "Test: unreliable net, restarts, many clients (2B)", as TinyKV prints it. */
function genericTitle(o: GenericTestOptions): string {
  let title = 'Test: ';
  if (o.unreliable) title += 'unreliable net, ';
  if (o.crash) title += 'restarts, ';
  if (o.partitions) title += 'partitions, ';
  if (o.maxraftlog !== -1) title += 'snapshots, ';
  if (o.confchange) title += 'conf change, ';
  if (o.split) title += 'split, ';
  title += o.nclients > 1 ? 'many clients' : 'one client';
  return `${title} (${o.part})`;
}

/**
 * Run GenericTest as the current vitest test. Requests get a long deadline (60 virtual seconds): under
 * partitions a correct cluster can stay without a reachable leader for a few seconds, and TinyKV's own
 * retry loops allow far more than its nominal 5 s; a liveness bug still fails, it only takes longer in
 * virtual time.
 */
export async function genericTest(scenario: GenericTestOptions): Promise<SimTestResult<GenericTestReport>> {
  const rounds = scenario.rounds ?? 3;
  const roundMs = scenario.roundMs ?? 5000;
  console.log(genericTitle(scenario));
  const seed = scenario.sim?.seed ?? testSeed(expect.getState().currentTestName ?? 'GenericTest');
  const base = testConfig();
  const swarm = swarmEnabled()
    ? drawSwarm(seed, { ...scenario, electionTimeoutMs: base.raftBaseTickIntervalMs * base.raftElectionTimeoutTicks })
    : undefined;
  const o: GenericTestOptions = swarm === undefined ? scenario : { ...scenario, nclients: swarm.clients, maxraftlog: swarm.maxraftlog };
  const config: Partial<RaftstoreConfig> = {};
  if (o.maxraftlog !== -1) config.raftLogGcCountLimit = o.maxraftlog;
  if (o.split) {
    config.regionMaxSize = swarm?.regionMaxSize ?? 300;
    config.regionSplitSize = swarm?.regionSplitSize ?? 200;
  }
  if (swarm !== undefined) console.log(`[sim] ${describeSwarm(swarm, o)}`);
  const network = swarm === undefined ? undefined : { minLatencyMs: swarm.minLatencyMs, maxLatencyMs: swarm.maxLatencyMs, reorderProbability: swarm.reorderProbability, reorderExtraMs: swarm.reorderExtraMs };
  return runClusterTest(
    { stores: o.stores ?? 5, config, requestTimeoutMs: o.requestTimeoutMs ?? 60_000, network },
    (cluster, sim) => {
      if (swarm !== undefined) sim.note(describeSwarm(swarm, o));
      return genericBody(cluster, sim, o, rounds, roundMs, swarm);
    },
    { maxVirtualMs: rounds * (roundMs + 120_000) + 60_000, ...o.sim, seed },
  );
}

async function genericBody(
  cluster: Cluster,
  sim: Sim,
  o: GenericTestOptions,
  rounds: number,
  roundMs: number,
  swarm: SwarmParameters | undefined,
): Promise<GenericTestReport> {
  const electionTimeout = cluster.electionTimeoutMs;
  const report: GenericTestReport = { putsPerRound: [], scans: 0, chaosCycles: 0, confChanges: 0, sharedOps: 0, historyOps: 0 };
  const kv = new RecordedKv(cluster, sim);
  // How many keys each client has written in any round: the checks read them all (deleted ones: absent).
  const keysEverWritten: number[] = Array.from({ length: o.nclients }, () => 0);
  // A stream of its own, so that the other chaos draws stay what they were without power cuts.
  const powerCutRandom = sim.forkRandom(0x90e7);
  // Let the first leader be elected.
  await sim.sleep(2 * electionTimeout);

  for (let round = 0; round < rounds; round++) {
    sim.note(`generic test: round ${round + 1} of ${rounds}`);
    const state: RoundState = { clientsDone: false, chaosDone: false, confDone: false, powerCutDone: false };
    const clients = Array.from({ length: o.nclients }, (_, cli) =>
      sim.spawnClient(`cli${cli}`, () => roundClient(kv, sim, cli, round, state, report)),
    );
    let chaos: { done: Promise<void> } | undefined;
    let confChanger: { done: Promise<void> } | undefined;
    if (o.unreliable || o.partitions) {
      // Let the clients work a little without interference first.
      await sim.sleep(300);
      chaos = sim.spawnClient('chaos', () => networkChaos(cluster, sim, o, state, report, electionTimeout, swarm));
    }
    if (o.confchange) {
      await sim.sleep(100);
      confChanger = sim.spawnClient('confchange', () => confChange(cluster, sim, state, report));
    }
    const powerCut = o.crash ? sim.spawnClient('power-cut', () => seededPowerCut(cluster, sim, powerCutRandom, roundMs, state)) : undefined;
    await sim.sleep(roundMs);
    state.clientsDone = true;
    state.chaosDone = true;
    state.confDone = true;
    state.powerCutDone = true;
    if (powerCut !== undefined) await sim.waitFor(powerCut.done, { label: 'the power-cut client to stop' });

    if (chaos !== undefined) {
      await sim.waitFor(chaos.done, { label: 'the chaos client to stop' });
      // Heal, and give a request stuck in a minority time to see a new term.
      cluster.clearFilters();
      await sim.sleep(electionTimeout);
    }
    const counts: number[] = [];
    for (const client of clients) counts.push(await sim.waitFor(client.done, { label: `client ${client.name} to stop` }));
    report.putsPerRound.push(counts);
    if (confChanger !== undefined) await sim.waitFor(confChanger.done, { label: 'the confchange client to stop' });

    if (o.crash) {
      sim.note('generic test: crash every store');
      for (const id of cluster.storeIds()) await cluster.stopStore(id);
      await sim.sleep(swarm?.downMs ?? electionTimeout);
      sim.note('generic test: restart every store');
      for (const id of cluster.storeIds()) await cluster.startStore(id);
    }

    if (o.split) await waitForFirstSplit(cluster, sim, cluster.config.regionMaxSize, cluster.config.regionSplitSize);

    // Check each client's appends, then delete its keys. The clients' keys are disjoint, so this runs as one
    // actor per client (TinyKV does it one client after another; the order cannot matter). The scan covers
    // the client's whole key range, not only this round's keys: what an earlier round deleted must stay gone.
    const checkers = counts.map((j, cli) =>
      sim.spawnClient(`check${cli}`, async () => {
        keysEverWritten[cli] = Math.max(keysEverWritten[cli] ?? 0, j);
        const everWritten = Array.from({ length: keysEverWritten[cli]! }, (_, k) => clientKey(cli, k));
        const values = (await kv.scan(cli, clientKey(cli, 0), clientKeysEnd(cli), everWritten)).map(([, value]) => value);
        checkClientAppends(cli, values.join(''), j);
        checkNothingResurrected(cli, values, j);
        for (let k = 0; k < j; k++) await kv.delete(cli, clientKey(cli, k));
      }),
    );
    for (const checker of checkers) await sim.waitFor(checker.done, { label: `${checker.name} to finish` });

    if (o.maxraftlog > 0) {
      // Give the stores time to compact after the last requests, then check every region on every store.
      await sim.sleep(1000);
      await checkRaftLogSizes(cluster, o.maxraftlog);
    }

    if (o.confchange || o.split) await checkStoreInvariants(cluster);
    // Every request so far must be linearizable; the verdict is printed after the last round.
    kv.checkHistory(round < rounds - 1);
  }
  report.historyOps = kv.history.size;
  return report;
}

/**
 * The first region must be split once it holds more than `maxSize` bytes. TinyKV checks, after every round,
 * that it is split; but under partitions every election timeout a correct cluster, with no pre-vote, can
 * stay without a leader for most of a round (candidates with short logs keep raising the term; the ones
 * that could win keep losing their elections to them), and then the region never grew while it had a leader
 * to split it. So the check runs with the network healed and the clients' keys still there: the region
 * must be split within 20 virtual seconds, unless it holds no more than `maxSize` bytes (measured on a
 * store that has it, as the split checker measures it).
 */
async function waitForFirstSplit(cluster: Cluster, sim: Sim, maxSize: number, splitSize: number): Promise<void> {
  const deadline = sim.now() + 20_000;
  for (;;) {
    const first = await cluster.getRegion(new Uint8Array(0));
    if (first.endKey.length > 0) return;
    const size = await measureRegion(cluster, first, maxSize, splitSize);
    if (size !== undefined && size <= maxSize) return;
    if (sim.now() >= deadline) {
      throw new ClusterCheckError(
        `the region was not split: the first region still covers every key and holds ${size ?? '?'} bytes (more than ${maxSize}) 20 s after the round`,
      );
    }
    await sim.sleep(100);
  }
}

/** The size of `region` as a store that has it measures it (the scheduler's leader's store if up). */
async function measureRegion(cluster: Cluster, region: metapb.Region, maxSize: number, splitSize: number): Promise<number | undefined> {
  const leader = await cluster.leaderOfRegion(region.id);
  const candidates = leader !== undefined ? [leader.storeId, ...cluster.storeIds()] : cluster.storeIds();
  for (const id of candidates) {
    const engines = cluster.isUp(id) ? cluster.engines(id) : undefined;
    if (engines === undefined || findPeerOnStore(region, id) === undefined) continue;
    const view = engines.kv.snapshot();
    try {
      return (await checkRegionSplit(view, region, maxSize, splitSize)).size;
    } finally {
      await view.close();
    }
  }
  return undefined;
}

/** Key of client `cli`'s `j`-th value. */
function clientKey(cli: number, j: number): string {
  return `${cli} ${String(j).padStart(8, '0')}`;
}

/** The end of client `cli`'s key range: every key "<cli> <digits>" sorts before it ("!" follows " "). */
function clientKeysEnd(cli: number): string {
  return `${cli}!`;
}

/** Value of client `cli`'s `j`-th append. */
function clientValue(cli: number, j: number): string {
  return `x ${cli} ${j} y`;
}

/**
 * One client for one round: appends, scans of its own keys, and operations on the shared keys (see the
 * module comment) until the round ends; returns how many appends it made.
 */
async function roundClient(kv: RecordedKv, sim: Sim, cli: number, round: number, state: RoundState, report: GenericTestReport): Promise<number> {
  let j = 0;
  let last = '';
  let sharedWrites = 0;
  while (!state.clientsDone) {
    const choice = sim.random.nextInt(1000);
    if (choice < 400) {
      const value = clientValue(cli, j);
      await kv.put(cli, clientKey(cli, j), value);
      last += value;
      j++;
    } else if (choice < 700) {
      const keys = Array.from({ length: j }, (_, k) => clientKey(cli, k));
      const pairs = await kv.scan(cli, clientKey(cli, 0), clientKey(cli, j), keys);
      const got = pairs.map(([, value]) => value).join('');
      report.scans++;
      if (got !== last) {
        throw new ClusterCheckError(`client ${cli} scanned wrong values after ${j} puts\n  want: ${JSON.stringify(last)}\n  got:  ${JSON.stringify(got)}`);
      }
    } else {
      const key = SHARED_KEYS[sim.random.nextInt(SHARED_KEYS.length)]!;
      const kind = sim.random.nextInt(10);
      if (kind < 5) await kv.get(cli, key);
      else if (kind < 8) await kv.put(cli, key, `c${cli} r${round} w${sharedWrites++}`);
      else await kv.delete(cli, key);
      report.sharedOps++;
    }
  }
  return j;
}

/**
 * After the append-order check passed, `values` (everything in client `cli`'s key range) holds this round's
 * `count` values and nothing else: a value beyond them belongs to a key an earlier round deleted (and saw
 * deleted), so a delete was lost or an old value came back (from a snapshot, a stale log, a replay).
 */
export function checkNothingResurrected(cli: number, values: string[], count: number): void {
  if (values.length <= count) return;
  const extra = values.slice(count);
  const shown = extra.slice(0, 3).map((v) => JSON.stringify(v)).join(', ');
  throw new ClusterCheckError(
    `client ${cli}: ${extra.length} value(s) beyond this round's ${count} appends, on keys an earlier round deleted: ${shown}${extra.length > 3 ? ', ...' : ''}`,
  );
}

/**
 * The append-order check (TinyKV's checkClntAppends): each of client `cli`'s `count` values is in `v`
 * exactly once, and they come in the order they were put.
 */
export function checkClientAppends(cli: number, v: string, count: number): void {
  let lastOffset = -1;
  for (let j = 0; j < count; j++) {
    const wanted = clientValue(cli, j);
    const offset = v.indexOf(wanted);
    if (offset < 0) throw new ClusterCheckError(`client ${cli}: missing element "${wanted}" in the appends ${JSON.stringify(v)}`);
    if (v.lastIndexOf(wanted) !== offset) throw new ClusterCheckError(`client ${cli}: duplicate element "${wanted}" in the appends`);
    if (offset <= lastOffset) throw new ClusterCheckError(`client ${cli}: wrong order for element "${wanted}" in the appends`);
    lastOffset = offset;
  }
}

/** The log-size check: no store keeps more than 2 * maxraftlog entries of any region's log. */
export async function checkRaftLogSizes(cluster: Cluster, maxraftlog: number): Promise<void> {
  for (const region of await cluster.regionsInKeyOrder()) {
    for (const id of cluster.storeIds()) {
      const state = cluster.applyState(id, region.id);
      if (state === undefined) continue;
      const size = state.appliedIndex - state.truncatedIndex;
      if (size > 2 * maxraftlog) {
        throw new ClusterCheckError(
          `store ${id}, region ${region.id}: logs were not trimmed (applied ${state.appliedIndex} - truncated ` +
            `${state.truncatedIndex} = ${size} > 2 * ${maxraftlog})`,
        );
      }
    }
  }
}

/** Partitions and drops, changed every election timeout + up to 200 ms until the round ends. */
async function networkChaos(
  cluster: Cluster,
  sim: Sim,
  o: GenericTestOptions,
  state: RoundState,
  report: GenericTestReport,
  electionTimeout: number,
  swarm: SwarmParameters | undefined,
): Promise<void> {
  let split: FilterHandle | undefined;
  let drops: FilterHandle | undefined;
  const cycleMs = swarm === undefined ? electionTimeout : Math.max(1, Math.round(electionTimeout * swarm.partitionEveryElections));
  while (!state.chaosDone) {
    if (o.partitions) {
      split?.remove();
      const [a, b] = randomSplit(cluster.storeIds(), sim.random);
      split = cluster.partition(a, b);
    }
    if (o.unreliable && drops === undefined) drops = cluster.dropRandomly(swarm?.dropRate ?? UNRELIABLE_DROP_RATE);
    report.chaosCycles++;
    await sim.sleep(cycleMs + sim.random.nextInt(200));
  }
}

/**
 * With crash: one power cut per round in the middle of a store's work, at a seeded write boundary (a sample
 * of what write-boundaries.ts does exhaustively for short scenarios). At a random moment of the round a
 * random store is armed to lose power just before one of its next 1-60 raft or kv engine writes; it starts
 * again an election timeout later. The crash of every store between rounds comes on top.
 */
async function seededPowerCut(cluster: Cluster, sim: Sim, random: SeededRandom, roundMs: number, state: RoundState): Promise<void> {
  await sim.sleep(random.nextInt(Math.max(1, roundMs - 500)));
  const store = 1 + random.nextInt(cluster.count);
  let writesLeft = 1 + random.nextInt(60);
  const engines = cluster.engines(store);
  if (state.powerCutDone || engines === undefined) return;
  const cut = cutPowerBeforeWrite(sim, store, engines, {
    reason: `seeded power cut (${writesLeft} writes after arming)`,
    when: () => --writesLeft === 0,
  });
  await sim.waitUntil('the seeded power cut', () => cut.fired || state.powerCutDone);
  if (!cut.fired) {
    cut.disarm();
    return;
  }
  await sim.sleep(cluster.electionTimeoutMs);
  await cluster.startStore(store);
}

/**
 * Random conf changes through scheduler operators (3B): remove a random peer, or add one on a random store.
 * Each waits as long as a client request may (the cluster's request deadline), not TinyKV's 5 s: with
 * partitions changing every second and random drops, a correct two-member region can need several
 * elections before it commits a change. A conf change that never completes still fails the test.
 */
async function confChange(cluster: Cluster, sim: Sim, state: RoundState, report: GenericTestReport): Promise<void> {
  while (!state.confDone) {
    const region = cluster.scheduler.randomRegion(sim.random);
    if (region !== undefined) {
      const store = 1 + sim.random.nextInt(cluster.count);
      const peer = findPeerOnStore(region, store);
      if (peer !== undefined) {
        if (region.peers.length > 1) {
          await cluster.mustRemovePeer(region.id, peer, cluster.requestDeadlineMs);
          report.confChanges++;
        }
      } else {
        await cluster.mustAddPeer(region.id, cluster.allocPeer(store), cluster.requestDeadlineMs);
        report.confChanges++;
      }
    }
    // At least 1 ms, so the loop always lets virtual time pass.
    await sim.sleep(1 + sim.random.nextInt(200));
  }
}
