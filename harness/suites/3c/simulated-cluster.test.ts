/**
 * Project 3C on a whole simulated cluster: the reference raftstore with this scheduler in place of the mock.
 * Five stores, the first region on store 1 alone: the replica checker makes every region 3 replicas, the
 * writes split the data into many regions, balance-region spreads them; a sixth store joins and takes its
 * share; then a store stops for good and every region gets its third replica back on the live stores.
 *
 * Every region is about 1 MB to the scheduler (its size rounds up to 1 MB), so the 2 x size rule stops moves
 * once the largest and the smallest store differ by 2 regions or less: that is the bound checked here.
 */
import { expect, test } from 'vitest';
import { bytes, ReferenceScheduler, runClusterTest, type Cluster, type ClusterOptions } from '../../cluster/index.ts';
import type { Sim } from '../../sim/index.ts';

const OPTIONS: ClusterOptions = {
  stores: 6,
  firstRegionOn: [1],
  joinLater: [6],
  config: { regionMaxSize: 1200, regionSplitSize: 800 },
  scheduler: { kind: 'reference', options: { maxReplicas: 3, maxStoreDownTimeMs: 3_000 } },
};

const KEYS = 160;
const VALUE = 'v'.repeat(100);
/** Largest minus smallest region count among the live stores, once balanced. */
const BALANCE_BOUND = 2;
const BALANCE_WITHIN_MS = 60_000;
/** How long the settled state must then last. */
const HOLD_MS = 3_000;

function key(i: number): Uint8Array {
  return bytes(`key ${String(i).padStart(4, '0')}`);
}

/** Regions per store as the scheduler sees them. */
function regionCounts(cluster: Cluster, stores: readonly number[]): Map<number, number> {
  const counts = new Map(stores.map((id) => [id, 0]));
  for (const region of cluster.scheduler.allRegions()) {
    for (const peer of region.peers) if (counts.has(peer.storeId)) counts.set(peer.storeId, counts.get(peer.storeId)! + 1);
  }
  return counts;
}

function showCounts(counts: Map<number, number>): string {
  return [...counts].map(([id, n]) => `s${id}: ${n}`).join(', ');
}

/** Every region has 3 members, all on `live` stores, and the counts differ by BALANCE_BOUND at most. */
function settled(cluster: Cluster, live: readonly number[]): boolean {
  const regions = cluster.scheduler.allRegions();
  if (!regions.every((r) => r.peers.length === 3 && r.peers.every((p) => live.includes(p.storeId)))) return false;
  const counts = [...regionCounts(cluster, live).values()];
  return Math.max(...counts) - Math.min(...counts) <= BALANCE_BOUND;
}

async function waitSettled(cluster: Cluster, sim: Sim, live: readonly number[], what: string): Promise<number> {
  const started = sim.now();
  const ok = await sim.waitUntil(what, () => settled(cluster, live), { timeoutMs: BALANCE_WITHIN_MS }).catch(() => false);
  if (!ok) {
    const regions = cluster.scheduler.allRegions();
    const short = regions.filter((r) => r.peers.length !== 3 || r.peers.some((p) => !live.includes(p.storeId)));
    expect.fail(
      `${what}: not settled within ${BALANCE_WITHIN_MS} virtual ms. Regions per store: ${showCounts(regionCounts(cluster, live))} ` +
        `(bound: largest - smallest <= ${BALANCE_BOUND}); ${short.length} of ${regions.length} regions lack a replica on a live store. ` +
        `The scheduler's stores: ${schedulerView(cluster)}`,
    );
  }
  const took = sim.now() - started;
  // Converged, not passing through: it must still hold a while later.
  await sim.sleep(HOLD_MS);
  if (!settled(cluster, live)) expect.fail(`${what}: settled after ${took} virtual ms but not ${HOLD_MS} ms later: ${regionCountsLine(cluster, live)}`);
  console.log(`[3c] ${what}: settled in ${took} virtual ms; ${regionCountsLine(cluster, live)}`);
  return took;
}

/** Each store's counts as the scheduler keeps them, and the operators running. */
function schedulerView(cluster: Cluster): string {
  if (!(cluster.scheduler instanceof ReferenceScheduler)) return '(not the reference scheduler)';
  const sc = cluster.scheduler.cluster;
  const stores = sc.getStores().map((s) => `s${s.id} size ${s.regionSize} regions ${s.regionCount} pending ${s.pendingPeerCount} down ${sc.nowMs() - (s.lastHeartbeatMs ?? 0)} ms`);
  const ops = sc.core.regions.all().flatMap((r) => sc.operators.get(r.id)?.toString() ?? []);
  return `${stores.join('; ')}. Operators running: ${ops.length === 0 ? 'none' : ops.join('; ')}`;
}

function regionCountsLine(cluster: Cluster, live: readonly number[]): string {
  return `${cluster.scheduler.allRegions().length} regions; per store ${showCounts(regionCounts(cluster, live))}`;
}

/** Every key reads back, and each region's key is in the engine of each of its 3 stores. */
async function checkData(cluster: Cluster): Promise<void> {
  for (let i = 0; i < KEYS; i++) await cluster.mustGet(key(i), bytes(`${VALUE}${i}`));
  for (let i = 0; i < KEYS; i++) {
    const region = await cluster.getRegion(key(i));
    for (const peer of region.peers) await cluster.mustGetEqual(peer.storeId, key(i), bytes(`${VALUE}${i}`));
  }
}

test('TestBalanceOnSimulatedCluster3C', { timeout: 120_000 }, async () => {
  await runClusterTest(
    OPTIONS,
    async (cluster, sim) => {
      for (let i = 0; i < KEYS; i++) await cluster.mustPut(key(i), bytes(`${VALUE}${i}`));
      const first = [1, 2, 3, 4, 5];
      await waitSettled(cluster, sim, first, 'five stores after the writes');
      expect(cluster.scheduler.allRegions().length).toBeGreaterThanOrEqual(12);

      await cluster.joinStore(6);
      await waitSettled(cluster, sim, [...first, 6], 'store 6 joined');
      expect(regionCounts(cluster, [6]).get(6)).toBeGreaterThan(0);
      await checkData(cluster);

      await cluster.stopStore(2);
      await waitSettled(cluster, sim, [1, 3, 4, 5, 6], 'store 2 stopped for good');
      await checkData(cluster);
    },
    { maxVirtualMs: 400_000 },
  );
});
