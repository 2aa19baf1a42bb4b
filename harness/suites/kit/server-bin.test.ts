// The binaries' own behaviour (given code): usage errors, unusable directories, unreachable servers.
// Anything that needs the raw API to work is in harness/suites/1/grpc-e2e.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TinyKvGrpcServer } from '@impl/kv/server/grpc-server.ts';

const IMPL_DIR = path.resolve(process.env.IMPL ?? 'reference');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[]): Promise<Result> {
  // tsx loaded into node directly: starts twice as fast as the tsx command, same code.
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(IMPL_DIR, 'bin', script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result: Result = { code: null, stdout: '', stderr: '' };
  proc.stdout.on('data', (d: Buffer) => (result.stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (result.stderr += d.toString()));
  return new Promise((resolve) =>
    proc.on('close', (code) => {
      result.code = code;
      resolve(result);
    }),
  );
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('tinykv-server', () => {
  it('prints help and exits 0', async () => {
    const r = await run('tinykv-server.ts', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: tinykv-server --path DIR \[--addr HOST:PORT\]/);
  });

  it('refuses bad arguments with status 2 and a clear message', async () => {
    const missing = await run('tinykv-server.ts', ['--addr', '127.0.0.1:0']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing --path DIR/);
    const badAddr = await run('tinykv-server.ts', ['--path', '/tmp/unused', '--addr', 'nowhere']);
    expect(badAddr.code).toBe(2);
    expect(badAddr.stderr).toMatch(/bad address "nowhere"/);
    const unknown = await run('tinykv-server.ts', ['--path', '/tmp/unused', '--colour']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--colour/);
  });

  it('refuses a data directory it cannot use', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tinykv-bin-'));
    dirs.push(dir);
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const r = await run('tinykv-server.ts', ['--addr', '127.0.0.1:0', '--path', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot open the storage engine at .*a-file/);
    expect(r.stdout).not.toMatch(/listening/);
  });
});

describe('tinykv-ctl', () => {
  it('prints help and exits 0', async () => {
    const r = await run('tinykv-ctl.ts', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/put <key> <value>/);
    expect(r.stdout).toMatch(/scan <startKey> \[--limit N\]/);
  });

  it('refuses bad usage with status 2 before connecting', async () => {
    for (const [args, message] of [
      [[], /missing command/],
      [['frob'], /unknown command "frob"/],
      [['get'], /get takes <key>, got 0/],
      [['scan', 'a', '--limit', '0'], /--limit must be a positive integer/],
      [['--addr', 'x', 'get', 'k'], /bad address "x"/],
      [['--hex', 'get', 'zz'], /key is not hex/],
    ] as const) {
      const r = await run('tinykv-ctl.ts', [...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('explains an unreachable server and exits 1', async () => {
    const probe = await TinyKvGrpcServer.start({}, { addr: '127.0.0.1:0' });
    const address = probe.address;
    await probe.stop(); // nothing listens there any more
    const r = await run('tinykv-ctl.ts', ['--addr', address, 'get', 'k']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach a TinyKV server at 127\.0\.0\.1:\d+.*is tinykv-server running there\?/);
  });
});
