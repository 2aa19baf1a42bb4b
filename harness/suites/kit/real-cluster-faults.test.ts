// Faults around the real cluster's processes and wire: a store started on another cluster's data directory,
// a scheduler that is not up yet, a snapshot cut off mid-stream, a raft message for a region nobody has.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { encode, eraftpb, metapb, raft_serverpb } from '#proto';
import { assembleSnapshot, snapshotChunks } from '@impl/kv/server/raft-transport.ts';
import { closeEngines, openEngines } from '@impl/kv/raftstore/engines.ts';
import { getStoreIdent } from '@impl/kv/raftstore/meta.ts';
import { defaultImpl } from '../../tools/default-impl.ts';
import { startServer, stopAll, type ServerProcess } from '../../real-cluster/processes.ts';

const IMPL_DIR = path.resolve(process.env.IMPL ?? defaultImpl(process.cwd()));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-faults-'));
const servers: ServerProcess[] = [];

afterAll(async () => {
  await stopAll(servers, 5_000);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function scheduler(name: string, addr = '127.0.0.1:0'): Promise<ServerProcess> {
  const s = await startServer(name, IMPL_DIR, 'tinyscheduler-server.ts', ['--path', path.join(dir, name), '--addr', addr]);
  servers.push(s);
  return s;
}

function storeArgs(schedulerAddr: string, name: string): string[] {
  return ['--scheduler', schedulerAddr, '--path', path.join(dir, name), '--addr', '127.0.0.1:0', '--test-config'];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

describe('kit: real cluster faults', () => {
  test('a store refuses another cluster\'s data directory and changes nothing on disk', { timeout: 60_000 }, async () => {
    const a = await scheduler('sched-a');
    const store = await startServer('store', IMPL_DIR, 'tinykv-server.ts', storeArgs(a.address, 'store'));
    servers.push(store);
    expect(await stopAll([store])).toEqual(new Map([['store', 0]]));
    const b = await scheduler('sched-b');
    const refused = startServer('store again', IMPL_DIR, 'tinykv-server.ts', storeArgs(b.address, 'store'));
    await expect(refused).rejects.toThrow(/exited \(1\) before listening[\s\S]*belongs to cluster \d+[\s\S]*serves cluster \d+/);
    const engines = await openEngines(path.join(dir, 'store'));
    try {
      const ident = await getStoreIdent(engines.kv);
      expect(String(ident?.clusterId)).toBe(/cluster (\d+)/.exec(a.stdout)![1]);
    } finally {
      await closeEngines(engines);
    }
  });

  test('a store waits for a scheduler that is not up yet, saying so, then starts', { timeout: 60_000 }, async () => {
    const port = await freePort();
    let early: ServerProcess | undefined;
    const starting = startServer('waiting store', IMPL_DIR, 'tinykv-server.ts', storeArgs(`127.0.0.1:${port}`, 'waiting'), 45_000, (s) => {
      early = s;
      servers.push(s);
    });
    const deadline = Date.now() + 20_000;
    while (!/is not answering .*retrying in \d+ ms/.test(early?.stdout ?? '')) {
      if (Date.now() > deadline) throw new Error(`no retry line: ${early?.stdout}${early?.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await scheduler('late', `127.0.0.1:${port}`);
    const store = await starting;
    expect(store.stdout).toMatch(/answered \(cluster \d+\)/);
  });
});

describe('kit: snapshots in chunks', () => {
  const region = metapb.Region({ id: 5, peers: [metapb.Peer({ id: 6, storeId: 1 })], regionEpoch: metapb.RegionEpoch({ version: 1, confVer: 1 }) });
  const data = encode(
    'raft_serverpb.RaftSnapshotData',
    raft_serverpb.RaftSnapshotData({ region, fileSize: 0, data: Array.from({ length: 50 }, (_, i) => raft_serverpb.KeyValue({ key: new Uint8Array([i]), value: new Uint8Array(20).fill(i) })) }),
  );
  const msg = raft_serverpb.RaftMessage({
    regionId: 5,
    fromPeer: metapb.Peer({ id: 7, storeId: 2 }),
    toPeer: metapb.Peer({ id: 6, storeId: 1 }),
    message: eraftpb.Message({ msgType: eraftpb.MessageType.MsgSnapshot, snapshot: eraftpb.Snapshot({ data, metadata: eraftpb.SnapshotMetadata({ index: 9, term: 2 }) }) }),
  });

  test('the chunks put together give the message back', () => {
    const chunks = snapshotChunks(msg, 100);
    expect(chunks.length).toBe(Math.ceil(data.length / 100));
    expect(chunks[0]!.message?.message?.snapshot?.data.length).toBe(0);
    expect(chunks.slice(1).every((c) => c.message === undefined)).toBe(true);
    const back = assembleSnapshot(chunks[0]!.message, chunks.map((c) => c.data));
    expect(typeof back).not.toBe('string');
    expect(Buffer.compare((back as raft_serverpb.RaftMessage).message!.snapshot!.data, data)).toBe(0);
  });

  test('a snapshot cut off, or without its first chunk, is refused, never delivered half', () => {
    const chunks = snapshotChunks(msg, 100);
    expect(assembleSnapshot(chunks[0]!.message, chunks.slice(0, -1).map((c) => c.data))).toMatch(/region 5: its \d+ bytes of data do not decode/);
    expect(assembleSnapshot(undefined, chunks.map((c) => c.data))).toMatch(/first chunk carried no snapshot message/);
  });
});

