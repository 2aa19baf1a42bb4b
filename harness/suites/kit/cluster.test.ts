// The test cluster itself, on the reference raftstore: bootstrap and routing through the mock scheduler,
// key-value operations through raft, engine-level checks, crash and restart on real engines, fail-over of
// requests, the request deadline, clean-up of the temporary directories, and the stores' state in a failure block.
import { existsSync } from 'node:fs';
import { expect, test } from 'vitest';
import { raft_cmdpb } from '#proto';
import { RequestTimeoutError, bytes, runClusterTest, text, type Cluster } from '../../cluster/index.ts';

test('a fresh cluster elects a leader and serves put, get, delete and scan through raft', async () => {
  let dir: string | undefined;
  await runClusterTest(
    { stores: 3 },
    async (cluster) => {
      dir = cluster.directory;
      expect(dir !== undefined && existsSync(dir)).toBe(true);
      const region = await cluster.getRegion(bytes('a'));
      expect(region.id).toBe(1);
      expect(region.peers.map((p) => p.storeId)).toEqual([1, 2, 3]);
      await cluster.mustPut(bytes('a'), bytes('1'));
      await cluster.mustPut(bytes('b'), bytes('2'));
      await cluster.mustPut(bytes('c'), bytes('3'));
      expect(await cluster.leaderOfRegion(1)).toBeDefined();
      await cluster.mustGet(bytes('b'), bytes('2'));
      await cluster.mustDelete(bytes('b'));
      await cluster.mustGetNone(bytes('b'));
      expect((await cluster.scan(bytes('a'), bytes(''))).map(text)).toEqual(['1', '3']);
      expect((await cluster.scan(bytes('a'), bytes('c'))).map(text)).toEqual(['1']);
      // Every store applies the writes to its own engine.
      for (const id of cluster.storeIds()) {
        await cluster.mustGetEqual(id, bytes('c'), bytes('3'));
        await cluster.mustGetNoneOnStore(id, bytes('b'));
      }
    },
    { maxVirtualMs: 60_000 },
  );
  expect(dir !== undefined && existsSync(dir)).toBe(false);
});

test('writes survive crashing and restarting every store on its real engines', () =>
  runClusterTest(
    { stores: 3 },
    async (cluster, sim) => {
      await cluster.mustPut(bytes('k'), bytes('before'));
      for (const id of cluster.storeIds()) await cluster.stopStore(id);
      expect(cluster.engines(1)).toBeUndefined();
      await sim.sleep(cluster.electionTimeoutMs);
      for (const id of cluster.storeIds()) await cluster.startStore(id);
      await cluster.mustGet(bytes('k'), bytes('before'));
      await cluster.mustPut(bytes('k'), bytes('after'));
      await cluster.mustGet(bytes('k'), bytes('after'));
    },
    { maxVirtualMs: 60_000 },
  ));

test('requests fail over when the leader store goes down', () =>
  runClusterTest(
    { stores: 3 },
    async (cluster) => {
      await cluster.mustPut(bytes('k'), bytes('v'));
      const leader = await cluster.leaderOfRegion(1);
      expect(leader).toBeDefined();
      await cluster.stopStore(leader!.storeId);
      await cluster.mustPut(bytes('k'), bytes('v2'));
      await cluster.mustGet(bytes('k'), bytes('v2'));
      const next = await cluster.leaderOfRegion(1);
      expect(next?.storeId).not.toBe(leader!.storeId);
    },
    { maxVirtualMs: 60_000 },
  ));

test('without a majority a request ends at its deadline with RequestTimeoutError', () =>
  runClusterTest(
    { stores: 3 },
    async (cluster: Cluster, sim) => {
      await cluster.mustPut(bytes('k'), bytes('v'));
      await cluster.stopStore(2);
      await cluster.stopStore(3);
      const started = sim.now();
      const put = raft_cmdpb.Request({
        cmdType: raft_cmdpb.CmdType.Put,
        put: raft_cmdpb.PutRequest({ cf: 'default', key: bytes('k2'), value: bytes('maybe') }),
      });
      const err = await cluster.request(bytes('k2'), [put], 3000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RequestTimeoutError);
      expect(String(err)).toMatch(/put "k2" did not succeed within 3000 ms/);
      expect(sim.now() - started).toBeGreaterThanOrEqual(3000);
      await cluster.startStore(2);
      await cluster.mustGet(bytes('k'), bytes('v'));
    },
    { maxVirtualMs: 60_000 },
  ));

test('an isolated store gets nothing until the filter is removed', () =>
  runClusterTest(
    { stores: 3 },
    async (cluster) => {
      await cluster.mustPut(bytes('k0'), bytes('v0'));
      const leader = await cluster.leaderOfRegion(1);
      const follower = cluster.storeIds().find((id) => id !== leader!.storeId)!;
      const cut = cluster.isolate(follower);
      await cluster.mustPut(bytes('k1'), bytes('v1'));
      await cluster.mustGetNoneOnStore(follower, bytes('k1'));
      expect(cut.dropped).toBeGreaterThan(0);
      cut.remove();
      await cluster.mustGetEqual(follower, bytes('k1'), bytes('v1'));
    },
    { maxVirtualMs: 60_000 },
  ));

test("a failing cluster test's block shows every store's raft state at the failure", async () => {
  const err = await runClusterTest(
    { stores: 3 },
    async (cluster) => {
      await cluster.mustPut(bytes('k'), bytes('v'));
      await cluster.stopStore(3);
      throw new Error('planted failure');
    },
    { maxVirtualMs: 60_000, seed: 11, traceToFile: false },
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  const message = (err as Error).message;
  expect(message).toContain('  at the failure:');
  expect(message).toContain('    store 3: down');
  expect(message).toMatch(/ {6}peer \d+: leader term \d+ leader \d+ commit \d+ applied \d+ last \d+; region 1 \["", \+inf\) v1\/c1 peers /);
  expect((message.match(/ {6}peer \d+: follower term/g) ?? []).length).toBe(1);
});
