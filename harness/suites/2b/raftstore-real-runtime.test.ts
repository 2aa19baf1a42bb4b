/**
 * The raftstore on the real runtime (Node timers) with the in-process transport, as the server binary runs
 * it: three stores elect a leader, serve a put/get/scan, and stop gracefully. It proves that nothing in the
 * raftstore depends on the simulation; the waits below are liveness deadlines, not timing measurements.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { raft_cmdpb, raft_serverpb } from '#proto';
import { RealRuntime } from '@impl/runtime/real-runtime.ts';
import { LocalTransportHub } from '@impl/runtime/local-transport.ts';
import { Raftstore, type CommandResult } from '@impl/kv/raftstore/raftstore.ts';
import { testConfig } from '@impl/kv/raftstore/config.ts';
import { closeEngines, openEngines, type Engines } from '@impl/kv/raftstore/engines.ts';
import { bootstrapStore, firstRegion, prepareBootstrapRegion } from '@impl/kv/raftstore/bootstrap.ts';
import { NoopSchedulerClient } from '@impl/kv/raftstore/scheduler-client.ts';
import { bytes, text } from '../../cluster/keys.ts';
import { getRequest, putRequest, snapRequest } from '../../cluster/requests.ts';
import { makeTempDir, removeDir } from './temp-dir.ts';

let dir = '';
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined, deadlineMs: number): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() - start > deadlineMs) throw new Error(`${what} did not happen within ${deadlineMs} ms`);
    await sleep(20);
  }
}

describe('raftstore on the real runtime', () => {
  test('three stores elect a leader, serve commands and stop', async () => {
    const ids = [1, 2, 3];
    const hub = new LocalTransportHub<raft_serverpb.RaftMessage>();
    const errors: unknown[] = [];
    const stores: Array<{ store: Raftstore; runtime: RealRuntime; engines: Engines }> = [];
    for (const id of ids) {
      const engines = await openEngines(path.join(dir, `s${id}`));
      await bootstrapStore(engines, 1, id);
      await prepareBootstrapRegion(engines, firstRegion(ids));
      const runtime = new RealRuntime({ name: `store ${id}`, seed: id, onError: (err) => errors.push(err) });
      const store = await Raftstore.start({
        storeId: id,
        runtime,
        transport: hub.endpoint(id, runtime),
        engines,
        scheduler: new NoopSchedulerClient(),
        config: testConfig(),
      });
      stores.push({ store, runtime, engines });
    }
    try {
      const send = async (requests: raft_cmdpb.Request[]): Promise<CommandResult> => {
        for (let attempt = 0; attempt < 100; attempt++) {
          const leader = await until('a leader', () => stores.find((s) => s.store.isLeader(1)), 10_000);
          const region = leader.store.regionOf(1)!;
          const result = await leader.store.sendCommand(
            raft_cmdpb.RaftCmdRequest({
              header: raft_cmdpb.RaftRequestHeader({
                regionId: 1,
                peer: region.peers.find((p) => p.storeId === leader.store.storeId),
                regionEpoch: region.regionEpoch,
              }),
              requests,
            }),
          );
          if (result.response.header?.error === undefined) return result;
          await sleep(50);
        }
        throw new Error('no successful answer');
      };
      await send([putRequest(bytes('a'), bytes('1'))]);
      await send([putRequest(bytes('b'), bytes('2'))]);
      const got = await send([getRequest(bytes('a'))]);
      expect(text(got.response.responses[0]!.get!.value)).toBe('1');
      const scanned = await send([snapRequest()]);
      const it = scanned.reader!.iterCF('default');
      const keys: string[] = [];
      for (await it.seek(new Uint8Array(0)); it.valid(); await it.next()) keys.push(text(it.item().key));
      await it.close();
      await scanned.reader!.close();
      expect(keys).toEqual(['a', 'b']);
      // Every store applies the writes.
      const start = Date.now();
      for (const s of stores) {
        while ((await s.engines.kv.getCF('default', bytes('b'))) === undefined) {
          if (Date.now() - start > 10_000) throw new Error(`store ${s.store.storeId} never applied b`);
          await sleep(20);
        }
      }
    } finally {
      for (const s of stores) {
        await s.store.stop();
        await s.runtime.shutdown();
        await closeEngines(s.engines);
      }
    }
    expect(errors).toEqual([]);
  });
});
