/**
 * Real server processes of an implementation (IMPL): tinyscheduler-server and tinykv-server, each one `node`
 * process (no npm, sh or tsx wrapper between a signal and the server), in a process group of its own so that
 * stopping it reaches everything it started. Used by `make cluster` and the end-to-end cluster test.
 *
 * Every process started here is registered; stopAll() (SIGTERM, then SIGKILL after a grace period, to the
 * whole group) is what a test's cleanup and the playground's Ctrl-C call, and liveProcesses() is what the kit
 * test checks after the suites.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const KIT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMPL_HOOKS = path.join(KIT_ROOT, 'harness', 'tools', 'impl-register.ts');

export interface ServerProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Everything it printed so far. */
  stdout: string;
  stderr: string;
  /** Its exit code (null when it died of a signal). */
  readonly exited: Promise<number | null>;
  /** The "listening on" address, once it serves. */
  address: string;
}

const started = new Set<ServerProcess>();

/** Starts `<implDir>/bin/<script>` with `args` and waits for its "listening on HOST:PORT" line. */
export async function startServer(
  name: string,
  implDir: string,
  script: string,
  args: string[],
  timeoutMs = 30_000,
  /** Sees the process as soon as it is spawned (before it listens). */
  onSpawn?: (server: ServerProcess) => void,
): Promise<ServerProcess> {
  const file = path.join(implDir, 'bin', script);
  // TINYKV_SERVER_NODE_ARGS: extra options for node itself, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.TINYKV_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', '--import', IMPL_HOOKS, file, ...args], {
    cwd: KIT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const server: ServerProcess = {
    name,
    proc,
    pid: proc.pid!,
    stdout: '',
    stderr: '',
    address: '',
    exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))),
  };
  started.add(server);
  void server.exited.then(() => started.delete(server));
  onSpawn?.(server);
  proc.stdout!.on('data', (d: Buffer) => (server.stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (server.stderr += d.toString()));
  keepOutput(server);
  server.address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start listening within ${timeoutMs} ms:\n${server.stdout}${server.stderr}`)), timeoutMs);
    const look = () => {
      const match = /listening on (\S+:\d+)/.exec(server.stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    proc.stdout!.on('data', look);
    void server.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening:\n${server.stdout}${server.stderr}`));
    });
  });
  return server;
}

/**
 * With TINYKV_SERVER_LOGS=DIR, everything a server prints is also written to DIR/<name>-<pid>.log (for
 * reading a failed run's whole story; LOG_LEVEL=info or debug makes the stores say more).
 */
function keepOutput(server: ServerProcess): void {
  const dir = process.env.TINYKV_SERVER_LOGS;
  if (dir === undefined || dir === '') return;
  fs.mkdirSync(dir, { recursive: true });
  const file = fs.createWriteStream(path.join(dir, `${server.name}-${server.pid}.log`));
  server.proc.stdout!.pipe(file);
  server.proc.stderr!.pipe(file);
}

/** Sends `signal` to the server's process group; resolves with its exit code. */
export async function signalServer(server: ServerProcess, signal: NodeJS.Signals): Promise<number | null> {
  try {
    process.kill(-server.pid, signal);
  } catch {
    // already gone
  }
  return server.exited;
}

/** SIGTERM to each, then SIGKILL to any still there after `graceMs`. Returns each one's exit code. */
export async function stopAll(servers: Iterable<ServerProcess> = started, graceMs = 10_000): Promise<Map<string, number | null>> {
  const list = [...servers];
  const codes = new Map<string, number | null>();
  await Promise.all(
    list.map(async (s) => {
      const timer = setTimeout(() => signalGroup(s.pid, 'SIGKILL'), graceMs);
      codes.set(s.name, await signalServer(s, 'SIGTERM'));
      clearTimeout(timer);
    }),
  );
  return codes;
}

/** The processes started here that have not exited. */
export function liveProcesses(): ServerProcess[] {
  return [...started];
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone
  }
}

/** The arguments of a store for a test-sized cluster: fast ticks and heartbeats, small regions. */
export function fastStoreArgs(regionMaxSize: number): string[] {
  return ['--test-config', '--region-max-size', String(regionMaxSize), '--region-split-size', String(Math.floor((regionMaxSize * 2) / 3))];
}
