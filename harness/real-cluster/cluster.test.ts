// A real cluster of processes (Project 3 end to end, outside the simulation): tinyscheduler-server and three
// tinykv-server stores on loopback, fast test settings. 5,000 transactional writes through the region-routing
// client while the regions split; store 2 is killed (SIGKILL) in the middle and the writes go on; it comes
// back on another port and catches up; a fourth store joins and balance-region moves regions onto it; every
// acknowledged write reads back; SIGTERM stops every process with exit status 0; and store 2's engine, read
// after the end, holds the data of every region it is a member of.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { kvrpcpb, schedulerpb } from '#proto';
import { ClusterClient } from '@impl/kv/client/cluster-client.ts';
import { closeEngines, openEngines } from '@impl/kv/raftstore/engines.ts';
import { encodeBytes } from '@impl/kv/transaction/mvcc/codec.ts';
import { RealRuntime } from '@impl/runtime/real-runtime.ts';
import { SchedulerRpcClient } from '@impl/scheduler/client/scheduler-rpc-client.ts';
import { defaultImpl } from '../tools/default-impl.ts';
import { fastStoreArgs, signalServer, startServer, stopAll, type ServerProcess } from './processes.ts';

const IMPL_DIR = path.resolve(process.env.IMPL ?? defaultImpl(process.cwd()));
const WRITES = 5_000;
const WORKERS = 16;
/** Small regions, so that the writes split the data into a few dozen. */
const REGION_MAX_SIZE = 12 * 1024;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-real-cluster-'));
const servers: ServerProcess[] = [];

afterAll(async () => {
  await stopAll(servers, 5_000);
  fs.rmSync(dir, { recursive: true, force: true });
});

function key(i: number): Uint8Array {
  return new TextEncoder().encode(`user${String(i).padStart(6, '0')}`);
}

function value(i: number): Uint8Array {
  return new TextEncoder().encode(`value ${i} `.padEnd(24, '.'));
}

async function startStore(name: string, schedulerAddr: string): Promise<ServerProcess> {
  const store = await startServer(name, IMPL_DIR, 'tinykv-server.ts', [
    '--scheduler', schedulerAddr, '--path', path.join(dir, name), '--addr', '127.0.0.1:0', ...fastStoreArgs(REGION_MAX_SIZE),
  ]);
  servers.push(store);
  return store;
}

/** Peers per store, as the scheduler knows them. */
async function peersPerStore(scheduler: SchedulerRpcClient): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const { region } of await scheduler.scanRegions(new Uint8Array(0), new Uint8Array(0), 0)) {
    for (const p of region.peers) counts.set(p.storeId, (counts.get(p.storeId) ?? 0) + 1);
  }
  return counts;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('a real cluster: splits, a killed store, a joining store, every write read back, clean stop', { timeout: 120_000 }, async () => {
  const schedulerProc = await startServer('scheduler', IMPL_DIR, 'tinyscheduler-server.ts', [
    '--path', path.join(dir, 'scheduler'), '--addr', '127.0.0.1:0', '--schedule-interval', '50ms', '--max-store-down-time', '1m',
  ]);
  servers.push(schedulerProc);
  const stores = [await startStore('store-1', schedulerProc.address), await startStore('store-2', schedulerProc.address), await startStore('store-3', schedulerProc.address)];

  const runtime = new RealRuntime({ name: 'test client', seed: 7 });
  const scheduler = new SchedulerRpcClient(schedulerProc.address, { runtime });
  const client = new ClusterClient(scheduler, { runtime, requestTimeoutMs: 30_000 });
  try {
    await scheduler.connect(10_000);
    // Every region gets 3 members before the load (the replica checker adds them to the first region).
    await until('3 members in the first region', async () => (await scheduler.scanRegions(new Uint8Array(0), new Uint8Array(0), 0)).every((r) => r.region.peers.length === 3), 20_000);
    const store2Id = Number(/store (\d+) of cluster/.exec(stores[1]!.stdout)![1]);

    // The writes, from WORKERS clients at once; store 2 dies after a third of them and returns after two thirds.
    const acked: number[] = [];
    let next = 0;
    let restarted: ServerProcess | undefined;
    const events: Promise<void>[] = [];
    const worker = async () => {
      for (let i = next++; i < WRITES; i = next++) {
        await client.txnWrite([kvrpcpb.Mutation({ op: kvrpcpb.Op.Put, key: key(i), value: value(i) })]);
        acked.push(i);
        if (acked.length === Math.floor(WRITES / 3)) events.push(signalServer(stores[1]!, 'SIGKILL').then(() => undefined));
        if (acked.length === Math.floor((2 * WRITES) / 3)) {
          events.push(
            (async () => {
              await events[0];
              restarted = await startStore('store-2', schedulerProc.address);
            })(),
          );
        }
      }
    };
    const writesStarted = Date.now();
    await Promise.all(Array.from({ length: WORKERS }, worker));
    await Promise.all(events);
    const writeMs = Date.now() - writesStarted;
    expect(acked.length).toBe(WRITES);
    expect(restarted?.stdout).toMatch(new RegExp(`store ${store2Id} of cluster`)); // the same store, from its own engine
    const regions = await scheduler.scanRegions(new Uint8Array(0), new Uint8Array(0), 0);
    expect(regions.length).toBeGreaterThan(5);
    console.log(`[real cluster] ${WRITES} transactional writes in ${writeMs} ms (${WORKERS} clients, store 2 killed and restarted); ${regions.length} regions; client: ${JSON.stringify(client.stats)}`);

    // A fourth store joins; balance-region moves regions onto it.
    const store4 = await startStore('store-4', schedulerProc.address);
    const store4Id = Number(/store (\d+) of cluster/.exec(store4.stdout)![1]);
    const mean = (regions.length * 3) / 4;
    const joined = Date.now();
    await until(`store 4 to hold regions (a quarter of ${regions.length * 3} peers)`, async () => ((await peersPerStore(scheduler)).get(store4Id) ?? 0) >= Math.floor(mean) - 2, 60_000);
    console.log(`[real cluster] store 4 holds ${(await peersPerStore(scheduler)).get(store4Id)} of ${regions.length * 3} peers after ${Date.now() - joined} ms`);

    // Every acknowledged write reads back.
    let read = 0;
    const reader = async () => {
      for (let i = read++; i < WRITES; i = read++) {
        const got = await client.txnGet(key(i));
        if (got === undefined || Buffer.compare(got, value(i)) !== 0) throw new Error(`key ${i}: read ${got === undefined ? 'nothing' : Buffer.from(got).toString()}`);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, reader));

    // Which keys store 2 must hold: those of the regions it has been a member of since before store 4 joined
    // (with the same peer), once no operator runs: a peer added by a move just now may still be catching up.
    await until('the operators to finish', async () => {
      const all = await scheduler.scanRegions(new Uint8Array(0), new Uint8Array(0), 0);
      const statuses = await Promise.all(all.map((r) => scheduler.operatorStatus(r.region.id)));
      return statuses.every((st) => st !== schedulerpb.OperatorStatus.RUNNING);
    }, 30_000).catch(async (err: unknown) => {
      const all = await scheduler.scanRegions(new Uint8Array(0), new Uint8Array(0), 0);
      const running = all.map((r) => `region ${r.region.id} v${r.region.regionEpoch?.version}/c${r.region.regionEpoch?.confVer} peers ${r.region.peers.map((p) => `${p.id}@${p.storeId}`).join(',')} leader ${r.leader?.id}`);
      const storeLogs = servers
        .filter((s) => s.name.startsWith('store'))
        .map((s) => `${s.name} (pid ${s.pid}):\n${(s.stdout + s.stderr).split('\n').filter((l) => l.trim() !== '').slice(-25).join('\n')}`);
      throw new Error(
        `${(err as Error).message}\nregions:\n${running.join('\n')}\nscheduler log:\n${schedulerProc.stdout.split('\n').filter((l) => /operator/.test(l)).slice(-30).join('\n')}\n` +
          `store logs:\n${storeLogs.join('\n')}`,
      );
    });
    const peerOn2 = (r: { peers: { id: number; storeId: number }[] }) => r.peers.find((p) => p.storeId === store2Id)?.id;
    const before = new Map(regions.map((r) => [r.region.id, peerOn2(r.region)]));
    const onStore2 = (await scheduler.scanRegions(new Uint8Array(0), new Uint8Array(0), 0))
      .map((r) => r.region)
      .filter((r) => peerOn2(r) !== undefined && before.get(r.id) === peerOn2(r));
    client.close();
    scheduler.close();
    await runtime.shutdown();

    // SIGTERM: every process exits 0.
    const live = servers.filter((s) => s.proc.exitCode === null && s.proc.signalCode === null);
    const codes = await stopAll(live, 15_000);
    expect([...codes.values()].every((c) => c === 0), `exit codes: ${JSON.stringify([...codes])}`).toBe(true);

    // Store 2's engine holds the committed writes of its regions.
    const engines = await openEngines(path.join(dir, 'store-2'));
    try {
      const missing = new Map<number, number[]>();
      let checked = 0;
      for (let i = 0; i < WRITES; i++) {
        const encoded = encodeBytes(key(i));
        const region = onStore2.find((r) => Buffer.compare(encoded, r.startKey) >= 0 && (r.endKey.length === 0 || Buffer.compare(encoded, r.endKey) < 0));
        if (region === undefined) continue;
        checked++;
        const it = engines.kv.iterCF('write');
        try {
          await it.seek(encoded);
          if (!(it.valid() && Buffer.compare(it.item().key.subarray(0, encoded.length), encoded) === 0)) missing.set(region.id, [...(missing.get(region.id) ?? []), i]);
        } finally {
          await it.close();
        }
      }
      expect(checked).toBeGreaterThan(0);
      const report = [...missing].map(([id, keys]) => {
        const r = onStore2.find((x) => x.id === id)!;
        return `region ${id} v${r.regionEpoch?.version}/c${r.regionEpoch?.confVer} peers ${r.peers.map((p) => `${p.id}@${p.storeId}`).join(',')}: ${keys.length} keys missing (${keys.slice(0, 5).join(', ')}...)`;
      });
      expect(report, `store 2 lacks writes of regions it is a member of:\n${report.join('\n')}\nits log:\n${restarted?.stdout.slice(-3000)}`).toEqual([]);
    } finally {
      await closeEngines(engines);
    }
  } finally {
    client.close();
    scheduler.close();
    await runtime.shutdown();
  }
});
