/**
 * What every part of a store shares (TinyKV's GlobalContext): its id, settings, engines, transport, scheduler
 * client, runtime, region map and router, plus two bits of bookkeeping of the store's actor:
 *   - the peers that may have a Ready to handle at the end of the current job (`dirty`);
 *   - the background tasks still running (so stop() can wait for them).
 */
import type { raft_serverpb } from '#proto';
import type { Job, Runtime, Transport } from '../../runtime/runtime.ts';
import type { Logger } from '../../util/log.ts';
import type { RaftstoreConfig } from './config.ts';
import type { Engines } from './engines.ts';
import type { Peer } from './peer.ts';
import type { BackgroundRunner } from './peer-storage.ts';
import type { SchedulerClient } from './scheduler-client.ts';
import type { StoreMeta } from './store-meta.ts';
import type { Router } from './router.ts';
import { EngineClosedError } from '../storage/errors.ts';

export interface StoreContextInit {
  storeId: number;
  cfg: RaftstoreConfig;
  engines: Engines;
  transport: Transport<raft_serverpb.RaftMessage>;
  scheduler: SchedulerClient;
  runtime: Runtime;
  storeMeta: StoreMeta;
  router: Router;
  logger: Logger;
}

export class StoreContext implements BackgroundRunner {
  readonly storeId: number;
  readonly cfg: RaftstoreConfig;
  readonly engines: Engines;
  readonly transport: Transport<raft_serverpb.RaftMessage>;
  readonly scheduler: SchedulerClient;
  readonly runtime: Runtime;
  readonly storeMeta: StoreMeta;
  readonly router: Router;
  readonly logger: Logger;
  /** Peers to look at for a Ready before the current job ends. */
  readonly dirty = new Set<Peer>();
  /** True once the store is stopping: background results are dropped, no new work starts. */
  stopping = false;
  /**
   * How the store's actor runs a job posted with post(): the Raftstore sets it so that such a job is skipped
   * once the store stopped, and the Readies it causes are handled before the job ends.
   */
  runJob: (fn: Job) => void | Promise<void> = (fn) => fn();
  private running = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(init: StoreContextInit) {
    this.storeId = init.storeId;
    this.cfg = init.cfg;
    this.engines = init.engines;
    this.transport = init.transport;
    this.scheduler = init.scheduler;
    this.runtime = init.runtime;
    this.storeMeta = init.storeMeta;
    this.router = init.router;
    this.logger = init.logger;
  }

  /** Remember that `peer`'s raft group may have something to do. */
  markDirty(peer: Peer): void {
    this.dirty.add(peer);
  }

  /**
   * Start a background task (snapshot generation, log GC). When it ends, its bookkeeping runs as a job of
   * the actor. A task that fails because the engines were closed under it (the store is going down) is only
   * logged; any other failure is reported by the runtime.
   */
  spawn(name: string, task: () => Promise<void>): void {
    if (this.stopping) return; // no new background work once the store is going down
    this.running++;
    this.runtime.spawn(name, async () => {
      try {
        await task();
      } catch (err) {
        if (!(err instanceof EngineClosedError && this.stopping)) throw err;
        this.logger.info('background task stopped by shutdown', { task: name });
      } finally {
        this.runtime.post(`${name}: finished`, () => this.taskFinished());
      }
    });
  }

  /** Run `fn` as a job of the store's actor (through runJob). */
  post(label: string, fn: Job): void {
    this.runtime.post(label, () => this.runJob(fn));
  }

  /** Calls `done` (as part of an actor job) once no background task is running. */
  whenIdle(done: () => void): void {
    if (this.running === 0) done();
    else this.idleWaiters.push(done);
  }

  private taskFinished(): void {
    this.running--;
    if (this.running > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
