/**
 * The grader's worker processes: JOBS long-lived workers (worker.ts), each running one test at a time.
 *
 * A run that does not answer within its budget, or whose worker dies (a crash, running out of memory, an
 * exit inside the test), is a failure of that run; its worker's whole process group is killed and a new
 * worker takes its place, so grading goes on. A worker is also replaced after many runs or when its memory
 * grows past a limit (50 runs, 700 MB), so one leaky test cannot starve the rest.
 *
 * Each worker gets a secret on fd 4 and signs its verdicts with it; a verdict without the signature (sent by
 * the code under test over the IPC channel) fails the run. The class grader also starts workers in a
 * sandbox (`launch`) and sets a hard memory limit over a worker's process tree (`memoryLimitBytes`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Writable } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeRssBytes } from './process-tree.ts';
import { signedText, type CollectedTest, type RunRequest, type RunResult, type WorkerReply } from './protocol.ts';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');
/** Heap limit of a worker (MB): the heaviest runs (ManyClients scenarios) need about 450. */
const WORKER_HEAP_MB = 768;

export interface PoolOptions {
  jobs: number;
  /** Absolute directory of the implementation under test. */
  impl: string;
  /** Repository root: the workers' working directory. */
  root: string;
  /** Replace a worker after this many runs (default 50). */
  maxRunsPerWorker?: number;
  /** Replace a worker whose peak memory passed this many bytes (default 700 MB). */
  maxRssBytes?: number;
  /**
   * Starts a worker some other way (the class grader: inside a sandbox). Gets the command that would run the
   * worker directly and its environment; returns what to run instead. The IPC channel must reach the worker.
   */
  launch?: (command: WorkerCommand) => WorkerCommand;
  /**
   * A hard limit on the memory of a worker and everything it started, checked twice a second during a run:
   * past it the worker is killed and the run fails. Off by default (the heap limit still applies).
   */
  memoryLimitBytes?: number;
}

/** A program to start: file, arguments, environment. */
export interface WorkerCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

const MEMORY_CHECK_MS = 500;

interface Slot {
  child: ChildProcess;
  /** Signs this worker's verdicts (it read it at start). */
  secret: string;
  ready: Promise<void>;
  runs: number;
  busy: boolean;
  /** Peak memory of this worker, as it last reported. */
  rss: number;
}

/** A run that the worker did not finish: the result stands in for the missing one. */
function lostRun(req: RunRequest, why: string, durationMs: number): RunResult {
  return { id: req.id, status: 'failed', error: why, output: '', durationMs, readSeed: true, maxRssBytes: 0 };
}

/** Was `result` signed with `secret` (by the worker itself)? */
function signedBy(secret: string, result: RunResult, seed: number): boolean {
  if (typeof result.signature !== 'string') return false;
  const expected = createHmac('sha256', secret).update(signedText(result, seed)).digest();
  const given = Buffer.from(result.signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  /** Every worker started and not yet exited. */
  private readonly children = new Set<ChildProcess>();
  private closed = false;
  /** The highest peak memory any worker reported. */
  peakRssBytes = 0;

  constructor(private readonly options: PoolOptions) {
    for (let i = 0; i < options.jobs; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const direct: WorkerCommand = {
      file: process.execPath,
      // A bounded heap: V8 otherwise lets a worker's heap grow far past what a run needs before it collects.
      args: ['--import', 'tsx', `--max-old-space-size=${WORKER_HEAP_MB}`, WORKER],
      env: { ...process.env, IMPL: this.options.impl, FORCE_COLOR: '0' },
    };
    const command = this.options.launch?.(direct) ?? direct;
    const child = spawn(command.file, command.args, {
      cwd: this.options.root,
      env: command.env,
      // fd 4 (protocol.ts, SECRET_FD): the secret that signs its verdicts, read once at its start.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc', 'pipe'],
      // Its own process group: a timeout kills the worker and whatever it started.
      detached: true,
    });
    this.children.add(child);
    everyChild.add(child);
    child.once('exit', () => {
      this.children.delete(child);
      everyChild.delete(child);
    });
    const secret = randomBytes(32).toString('hex');
    const secretPipe = child.stdio[4] as Writable;
    secretPipe.on('error', () => undefined); // a worker that died at start; its exit is reported
    secretPipe.end(secret);
    child.stderr?.resume(); // a worker's own complaints; runs capture their output themselves
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerReply) => {
        if (m.type === 'ready') {
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) => reject(new Error(`a grader worker exited at start (code ${code})`));
      child.once('message', onMessage);
      child.once('exit', onExit);
    });
    ready.catch(() => undefined);
    return { child, secret, ready, runs: 0, busy: false, rss: 0 };
  }

  private kill(slot: Slot): void {
    killGroup(slot.child);
  }

  /** A new worker in the slot's place; after close(), none (the old one is only killed). */
  private replace(slot: Slot): Slot {
    this.kill(slot);
    const at = this.slots.indexOf(slot);
    if (this.closed || at < 0) return slot;
    const fresh = this.spawn();
    this.slots[at] = fresh;
    return fresh;
  }

  /** How many workers are free now. */
  idle(): number {
    return this.closed ? 0 : this.slots.filter((s) => !s.busy).length;
  }

  /** The tests a file registers (asked of a worker, which then loads the file). */
  async collect(file: string): Promise<CollectedTest[]> {
    const slot = this.slots.find((s) => !s.busy) ?? this.slots[0]!;
    slot.busy = true;
    try {
      await slot.ready;
      const reply = await new Promise<WorkerReply>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`a grader worker exited while loading ${file} (code ${code})`));
        slot.child.once('exit', onExit);
        slot.child.once('message', (m: WorkerReply) => {
          slot.child.off('exit', onExit);
          resolve(m);
        });
        slot.child.send({ type: 'collect', file });
      });
      if (reply.type !== 'collected') throw new Error(`a grader worker answered ${reply.type} to a collect request`);
      if (reply.error !== undefined) throw new Error(`loading ${file} failed: ${reply.error}`);
      return reply.tests;
    } finally {
      slot.busy = false;
    }
  }

  /** Runs one test on a free worker (the caller checks idle() first). `budgetMs`: wall-clock limit of the run. */
  async run(req: RunRequest, budgetMs: number): Promise<RunResult> {
    let slot = this.slots.find((s) => !s.busy);
    if (slot === undefined) throw new Error('WorkerPool.run: no idle worker');
    slot.busy = true;
    const started = performance.now();
    try {
      await slot.ready;
    } catch {
      slot.busy = false;
      this.replace(slot);
      return lostRun(req, 'the grader worker could not start', 0);
    }
    let workerLost = false;
    const result = await new Promise<RunResult>((resolve) => {
      const child = slot!.child;
      let timer: NodeJS.Timeout | undefined;
      let memoryCheck: NodeJS.Timeout | undefined;
      const finish = (r: RunResult) => {
        clearTimeout(timer);
        clearInterval(memoryCheck);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(r);
      };
      const onMessage = (m: WorkerReply) => {
        if (m.type !== 'result' || m.result.id !== req.id) return;
        if (!signedBy(slot!.secret, m.result, req.seed)) {
          // Not the worker's own verdict: the code under test wrote on the channel.
          workerLost = true;
          finish(lostRun(req, 'a result for this run came without the worker\'s signature (sent by the code under test?); the run fails', performance.now() - started));
          return;
        }
        finish(m.result);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        const how = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
        workerLost = true;
        finish(lostRun(req, `the test's worker process ${how} during the run (a crash, running out of memory, or process.exit in the test)`, performance.now() - started));
      };
      timer = setTimeout(() => {
        workerLost = true;
        finish(lostRun(req, `the run took longer than its budget of ${Math.round(budgetMs / 1000)} s and was stopped`, performance.now() - started));
      }, budgetMs);
      const limit = this.options.memoryLimitBytes;
      if (limit !== undefined && child.pid !== undefined) {
        memoryCheck = setInterval(() => {
          const used = treeRssBytes(child.pid!);
          if (used <= limit) return;
          workerLost = true;
          finish(lostRun(req, `the run used ${Math.round(used / 1048576)} MB, more than its limit of ${Math.round(limit / 1048576)} MB, and was stopped`, performance.now() - started));
        }, MEMORY_CHECK_MS);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(req);
    });
    slot.runs++;
    slot.rss = Math.max(slot.rss, result.maxRssBytes);
    this.peakRssBytes = Math.max(this.peakRssBytes, slot.rss);
    // A worker's memory creeps up run after run (each run's test file is a new module instance, and the
    // engines' native memory is slow to return): a fresh worker costs a second or two.
    const worn = slot.runs >= (this.options.maxRunsPerWorker ?? 50) || slot.rss >= (this.options.maxRssBytes ?? 700e6);
    if (workerLost || worn) slot = this.replace(slot);
    slot.busy = false;
    return result;
  }

  /** Stops every worker (and what they started). */
  close(): void {
    this.closed = true;
    for (const slot of this.slots) slot.child.removeAllListeners();
    // Every worker this pool ever started that may still run, not only the current ones.
    for (const child of this.children) {
      killGroup(child);
      everyChild.delete(child);
    }
    this.children.clear();
  }
}

/** SIGKILL to a worker's whole process group (it and all it started; for a sandbox, the sandbox). */
function killGroup(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Workers of every pool in this process: they die with it even when a pool is never closed. */
const everyChild = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of everyChild) killGroup(child);
});
