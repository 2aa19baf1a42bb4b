// Project 1 end to end: the raw API over real gRPC on loopback, data surviving a server restart, and the
// real binaries (tinykv-server, tinykv-ctl) as child processes.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb } from '#proto';
import { Server } from '@impl/kv/server/server.ts';
import { TinyKvGrpcServer } from '@impl/kv/server/grpc-server.ts';
import { RawClient } from '@impl/kv/server/raw-client.ts';
import { StandaloneStorage } from '@impl/kv/storage/standalone-storage.ts';
import type { ColumnFamily } from '@impl/kv/storage/storage.ts';
import { bytes, enc, makeTempDir, removeDir } from './helpers.ts';
import { defaultImpl } from '../../tools/default-impl.ts';

const IMPL_DIR = path.resolve(process.env.IMPL ?? defaultImpl(process.cwd()));
const IMPL_HOOKS = path.resolve('harness/tools/impl-register.ts');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await makeTempDir('e2e');
  cleanups.push(() => removeDir(dir));
  return dir;
}

/** A server process of this test: storage + gRPC in-process. */
async function startInProcess(dataDir: string): Promise<{ address: string; stop: () => Promise<void> }> {
  const storage = new StandaloneStorage(dataDir);
  await storage.start();
  const grpcServer = await TinyKvGrpcServer.start(new Server(storage), { addr: '127.0.0.1:0' });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await grpcServer.stop();
    await storage.stop();
  };
  cleanups.push(stop);
  return { address: grpcServer.address, stop };
}

function client(address: string): RawClient {
  const c = new RawClient(address);
  cleanups.push(() => c.close());
  return c;
}

/** What the restart tests write: a few keys per family (the same key in several), one value of 5 MiB. */
const BIG = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 31 + 7) % 256);
const DATA: [ColumnFamily, string, Uint8Array][] = [
  ['default', 'apple', enc('red')],
  ['default', 'banana', enc('yellow')],
  ['default', 'shared', enc('in default')],
  ['lock', 'shared', enc('in lock')],
  ['lock', 'big', BIG],
  ['write', 'shared', enc('in write')],
  ['write', 'zebra', enc('striped')],
];

async function writeData(c: RawClient): Promise<void> {
  for (const [cf, key, value] of DATA) {
    const resp = await c.rawPut(kvrpcpb.RawPutRequest({ key: enc(key), value, cf }));
    expect(resp.error).toBe('');
  }
  // A key written and then deleted must stay deleted after the restart.
  expect((await c.rawPut({ key: enc('gone'), value: enc('x'), cf: 'write' })).error).toBe('');
  expect((await c.rawDelete({ key: enc('gone'), cf: 'write' })).error).toBe('');
}

async function checkData(c: RawClient): Promise<void> {
  for (const [cf, key, value] of DATA) {
    const resp = await c.rawGet({ key: enc(key), cf });
    expect(resp.error).toBe('');
    expect(resp.notFound).toBe(false);
    expect(resp.value.length).toBe(value.length);
    expect(Buffer.compare(resp.value, value)).toBe(0);
  }
  expect((await c.rawGet({ key: enc('gone'), cf: 'write' })).notFound).toBe(true);
  for (const cf of ['default', 'lock', 'write'] as const) {
    const scan = await c.rawScan({ startKey: new Uint8Array(0), limit: 100, cf });
    expect(scan.error).toBe('');
    const expected = DATA.filter(([f]) => f === cf).map(([, k]) => k).sort();
    expect(scan.kvs.map((kv) => new TextDecoder().decode(kv.key))).toEqual(expected);
  }
}

describe('Project 1: gRPC end to end', () => {
  it('writes in several families over gRPC, restarts on the same directory, reads everything back', async () => {
    const dataDir = path.join(await tempDir(), 'db');
    const first = await startInProcess(dataDir);
    const c1 = client(first.address);
    await writeData(c1);
    await checkData(c1);
    c1.close();
    await first.stop();

    const second = await startInProcess(dataDir);
    await checkData(client(second.address));
  });

  it('serves many concurrent clients without losing a write', async () => {
    const server = await startInProcess(path.join(await tempDir(), 'db'));
    const clients = Array.from({ length: 8 }, () => client(server.address));
    await Promise.all(
      clients.map(async (c, n) => {
        for (let i = 0; i < 25; i++) {
          const resp = await c.rawPut({ key: enc(`c${n}-${String(i).padStart(2, '0')}`), value: enc(`${n}:${i}`), cf: 'default' });
          expect(resp.error).toBe('');
        }
      }),
    );
    const scan = await clients[0].rawScan({ startKey: enc('c'), limit: 1000, cf: 'default' });
    expect(scan.kvs).toHaveLength(200);
    for (const kv of scan.kvs) {
      const [, n, i] = /^c(\d)-(\d\d)$/.exec(new TextDecoder().decode(kv.key))!;
      expect(new TextDecoder().decode(kv.value)).toBe(`${n}:${Number(i)}`);
    }
  });

  it('answers a malformed request with INVALID_ARGUMENT, writes nothing, and keeps serving', async () => {
    const server = await startInProcess(path.join(await tempDir(), 'db'));
    const c = client(server.address);
    expect((await c.rawPut({ key: enc('k'), value: enc('v'), cf: 'default' })).error).toBe('');
    const raw = new grpc.Client(server.address, grpc.credentials.createInsecure());
    cleanups.push(() => raw.close());
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      raw.makeUnaryRequest(
        '/tinykvpb.TinyKv/RawPut',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x12, 0xff, 0xff, 0xff]),
        (e) => resolve(e),
      );
    });
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/malformed request/);
    const scan = await c.rawScan({ startKey: new Uint8Array(0), limit: 10, cf: 'default' });
    expect(scan.kvs.map((kv) => bytes(kv.key))).toEqual([bytes(enc('k'))]);
  });
});

// ---- the real binaries ----

interface Child {
  proc: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

/**
 * Run a binary of IMPL as one node process (as `make server` does: no npm, sh or tsx command between a signal
 * and the server). impl-register.ts lets an IMPL outside the repository import `#proto` and the packages.
 */
function run(script: string, args: string[]): Child {
  const file = path.join(IMPL_DIR, 'bin', script);
  const argv = ['--import', 'tsx', '--import', IMPL_HOOKS, file, ...args];
  // Its own process group, so that the cleanup can signal everything it started.
  const proc = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const child: Child = {
    proc,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))),
  };
  proc.stdout!.on('data', (d: Buffer) => (child.stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (child.stderr += d.toString()));
  return child;
}

/** Start tinykv-server on a free port and wait for its "listening on" line. */
async function startBinary(dataDir: string): Promise<{ child: Child; address: string }> {
  const child = run('tinykv-server.ts', ['--addr', '127.0.0.1:0', '--path', dataDir]);
  cleanups.push(async () => {
    const running = child.proc.exitCode === null && child.proc.signalCode === null;
    try {
      process.kill(-child.proc.pid!, "SIGKILL"); // the whole group
    } catch {
      // the group is gone already
    }
    if (running) await child.exited;
  });
  const address = await new Promise<string>((resolve, reject) => {
    const look = () => {
      const match = /listening on (127\.0\.0\.1:\d+)/.exec(child.stdout);
      if (match) resolve(match[1]);
    };
    child.proc.stdout!.on('data', look);
    child.exited.then((code) => reject(new Error(`tinykv-server exited (${code}) before listening:\n${child.stderr}`)));
  });
  return { child, address };
}

async function ctl(address: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = run('tinykv-ctl.ts', ['--addr', address, ...args]);
  const code = await child.exited;
  return { code, stdout: child.stdout, stderr: child.stderr };
}

describe('Project 1: the binaries', () => {
  it('tinykv-server keeps its data across SIGTERM and restart', async () => {
    const dataDir = path.join(await tempDir(), 'db');
    const first = await startBinary(dataDir);
    const c1 = new RawClient(first.address);
    try {
      await writeData(c1);
    } finally {
      c1.close();
    }
    first.child.proc.kill('SIGTERM');
    expect(await first.child.exited).toBe(0);
    expect(first.child.stdout).toMatch(/stopped/);

    const second = await startBinary(dataDir);
    const c2 = new RawClient(second.address);
    try {
      await checkData(c2);
    } finally {
      c2.close();
    }
    second.child.proc.kill('SIGINT');
    expect(await second.child.exited).toBe(0);
  });

  it('tinykv-ctl puts, gets, scans and deletes, and fails clearly', async () => {
    const { address } = await startBinary(path.join(await tempDir(), 'db'));
    expect(await ctl(address, 'put', 'k1', 'v1')).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(await ctl(address, 'put', 'k2', 'v2', '--cf', 'lock')).toMatchObject({ code: 0 });
    expect(await ctl(address, 'get', 'k1')).toMatchObject({ code: 0, stdout: 'v1\n' });
    expect(await ctl(address, 'scan', '', '--cf', 'lock')).toMatchObject({ code: 0, stdout: 'k2\tv2\n' });
    expect(await ctl(address, 'delete', 'k1')).toMatchObject({ code: 0 });
    const missing = await ctl(address, 'get', 'k1');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found: k1/);
    const badCf = await ctl(address, 'put', 'k', 'v', '--cf', 'nope');
    expect(badCf.code).toBe(1);
    expect(badCf.stderr).toMatch(/unknown column family "nope"/);
    const usage = await ctl(address, 'put', 'only-key');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/put takes <key> <value>/);
  });
});
