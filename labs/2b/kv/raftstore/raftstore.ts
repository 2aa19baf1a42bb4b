/**
 * The raftstore: one store's actor. It hosts a peer for every region the store holds, drives their raft
 * groups with ticks, routes raft messages from other stores and commands from clients to them, and handles
 * their Readies. Everything runs as jobs of the injected Runtime (one at a time); slow work (snapshot
 * generation, raft log GC) runs in background tasks that report back with runtime.post.
 *
 * Regions are loaded at start from their persisted region states (never from configuration), so a restarted
 * store comes back with exactly the regions and members it had.
 */
import { decode, raft_cmdpb, raft_serverpb, schedulerpb, type metapb } from '#proto';
import { StateType } from '../../raft/raft.ts';
import type { Runtime, TimerHandle, Transport } from '../../runtime/runtime.ts';
import { rootLogger, type Logger } from '../../util/log.ts';
import { onceCallback, type Callback, type CommandResult } from './callback.ts';
import { errorResponse, otherError, regionNotFoundError } from './cmd-resp.ts';
import { validateConfig, type RaftstoreConfig } from './config.ts';
import { StoreContext } from './context.ts';
import type { Engines } from './engines.ts';
import { applyStateKey, decodeRegionMetaKey, isRegionStateSuffix, REGION_META_RANGE } from './keys.ts';
import { getStoreIdent } from './meta.ts';
import { Peer } from './peer.ts';
import { PeerMsgHandler } from './peer-msg-handler.ts';
import { cloneEpoch, clonePeer, cloneRegion } from './region-util.ts';
import { clearDestroyLeftovers } from './destroy.ts';
import { Router } from './router.ts';
import type { SchedulerClient } from './scheduler-client.ts';
import { StoreMeta } from './store-meta.ts';
import { StoreWorker } from './store-worker.ts';

export type { CommandResult } from './callback.ts';

export interface RaftstoreDeps {
  storeId: number;
  runtime: Runtime;
  transport: Transport<raft_serverpb.RaftMessage>;
  engines: Engines;
  scheduler: SchedulerClient;
  config: RaftstoreConfig;
}

/** What Raftstore.raftStatusOf returns. */
export interface PeerRaftStatus {
  peerId: number;
  role: 'Follower' | 'Candidate' | 'Leader';
  term: number;
  /** The leader this peer knows of (0: none). */
  leaderId: number;
  lastIndex: number;
  commit: number;
  /** The applied index of its apply state. */
  applied: number;
}

/** What Raftstore.metaView returns. */
export interface StoreMetaView {
  /** Every peer the router holds, in region id order. */
  peers: { region: metapb.Region; peerId: number; initialized: boolean }[];
  /** The store's region map, in region id order. */
  regions: metapb.Region[];
  /** The range index, in key order. */
  ranges: metapb.Region[];
}

/**
 * One peer's raft state, as the simulation's invariant checkers read it after every event (tests,
 * debugging): live values, read when asked. Reading it changes nothing.
 */
export interface RaftProbe {
  /** The peer object itself: a peer destroyed and later added again with the same id is another instance. */
  readonly instance: object;
  readonly regionId: number;
  readonly peerId: number;
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
  /** The index the raftstore has applied (its apply state), not raft's own applied mark. */
  readonly applied: number;
  readonly lastIndex: number;
  /** The first index still in the log (the compaction point + 1). */
  readonly firstIndex: number;
  readonly isLeader: boolean;
  /** The term of the entry at `index`; undefined when it is compacted or beyond the last index. */
  termAt(index: number): number | undefined;
}

/** A RaftProbe that reads its peer's state when asked (no copy is made). */
class LiveRaftProbe implements RaftProbe {
  constructor(private readonly peer: Peer) {}
  get instance(): object {
    return this.peer;
  }
  get regionId(): number {
    return this.peer.regionId;
  }
  get peerId(): number {
    return this.peer.peerId;
  }
  get term(): number {
    return this.peer.raftGroup.raft.term;
  }
  get vote(): number {
    return this.peer.raftGroup.raft.vote;
  }
  get commit(): number {
    return this.peer.raftGroup.raft.raftLog.committed;
  }
  get applied(): number {
    return this.peer.storage.appliedIndex();
  }
  get lastIndex(): number {
    return this.peer.raftGroup.raft.raftLog.lastIndex();
  }
  get firstIndex(): number {
    return this.peer.raftGroup.raft.raftLog.firstIndex();
  }
  get isLeader(): boolean {
    return this.peer.raftGroup.raft.state === StateType.Leader;
  }
  termAt(index: number): number | undefined {
    const log = this.peer.raftGroup.raft.raftLog;
    if (index < log.firstIndex() || index > log.lastIndex()) return undefined;
    try {
      return log.term(index);
    } catch {
      return undefined;
    }
  }
}

/** The store cannot start: not bootstrapped, another store's engines, or a broken persisted state. */
export class RaftstoreStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RaftstoreStartError';
  }
}

/** At most this many rounds of Ready handling per job; what is left waits for the next job (a tick comes soon). */
const MAX_READY_ROUNDS = 8;

export class Raftstore {
  private readonly ctx: StoreContext;
  private readonly storeWorker: StoreWorker;
  private readonly timers: TimerHandle[] = [];
  private stopped = false;
  /** A 'raft ready' job waits in the queue (see job()). */
  private readyJobQueued = false;
  private stopping: Promise<void> | undefined;
  private readonly probes = new WeakMap<Peer, RaftProbe>();
  /** Peers that handled a Ready since the last takeChangedProbes (their raft state may have moved). */
  private readonly changedPeers = new Set<Peer>();

  private constructor(ctx: StoreContext) {
    this.ctx = ctx;
    this.storeWorker = new StoreWorker(ctx);
    ctx.runJob = (fn) => this.job(fn);
  }

  /** Loads every region with a persisted region state, then starts ticking and listening. */
  static async start(deps: RaftstoreDeps): Promise<Raftstore> {
    validateConfig(deps.config);
    const ident = await getStoreIdent(deps.engines.kv);
    if (ident === undefined) throw new RaftstoreStartError(`store ${deps.storeId} is not bootstrapped (no store ident in its kv engine)`);
    if (ident.storeId !== deps.storeId) {
      throw new RaftstoreStartError(`these engines belong to store ${ident.storeId}, not to store ${deps.storeId}`);
    }
    const logger: Logger = rootLogger.with('store', deps.storeId);
    const ctx = new StoreContext({
      storeId: deps.storeId,
      cfg: deps.config,
      engines: deps.engines,
      transport: deps.transport,
      scheduler: deps.scheduler,
      runtime: deps.runtime,
      storeMeta: new StoreMeta(),
      router: new Router(),
      logger,
    });
    const store = new Raftstore(ctx);
    await store.loadPeers();
    store.startWorking();
    logger.info('raftstore started', { regions: ctx.router.regionIds().join(',') });
    return store;
  }

  /** Creates a peer for every region state in the kv engine (tombstones excepted). */
  private async loadPeers(): Promise<void> {
    const ctx = this.ctx;
    const states: raft_serverpb.RegionLocalState[] = [];
    const it = ctx.engines.kv.iterMeta({ end: REGION_META_RANGE.end });
    try {
      for (await it.seek(REGION_META_RANGE.start); it.valid(); await it.next()) {
        const { key, value } = it.item();
        if (!isRegionStateSuffix(decodeRegionMetaKey(key).suffix)) continue;
        states.push(decode('raft_serverpb.RegionLocalState', value));
      }
    } finally {
      await it.close();
    }
    for (const state of states) {
      const region = state.region;
      if (region === undefined) throw new RaftstoreStartError('a persisted region state has no region');
      if (state.state === raft_serverpb.PeerState.Tombstone) {
        // A crash during a destroy can leave the raft state and log behind (see destroy.ts): delete them.
        const leftovers = await clearDestroyLeftovers(ctx.engines, region.id);
        if (leftovers > 0) ctx.logger.info('deleted the raft data a destroyed peer left behind', { region: region.id, keys: leftovers });
        continue;
      }
      let peer: Peer;
      try {
        peer = await Peer.createFromRegion(ctx, region);
      } catch (err) {
        throw new RaftstoreStartError(`store ${ctx.storeId} cannot load region ${region.id}: ${(err as Error).message}`, { cause: err });
      }
      ctx.router.register(peer);
      ctx.storeMeta.setRegion(peer.region());
      ctx.storeMeta.insertRange(peer.region());
    }
  }

  private startWorking(): void {
    const { ctx } = this;
    const { cfg, runtime } = ctx;
    ctx.transport.listen((msg) => this.job(() => this.storeWorker.onRaftMessage(msg)));
    // Stores do not start in the same instant in real life, so their ticks are not in phase: give the raft
    // tick a random phase, or stores started together would time out (and split votes) in lockstep.
    const phase = runtime.random.nextInt(cfg.raftBaseTickIntervalMs);
    this.timers.push(
      runtime.setTimer(
        phase,
        () => {
          if (this.stopped) return;
          this.timers.push(
            runtime.every(cfg.raftBaseTickIntervalMs, () => this.job(() => this.forEachPeer((h) => h.onRaftBaseTick())), 'raft tick'),
          );
        },
        'raft tick phase',
      ),
      runtime.every(cfg.raftLogGcTickIntervalMs, () => this.job(() => this.forEachPeer((h) => h.onRaftGcLogTick())), 'raft log gc tick'),
      runtime.every(
        cfg.schedulerHeartbeatTickIntervalMs,
        () => this.job(() => this.forEachPeer((h) => h.onSchedulerHeartbeatTick())),
        'region heartbeat tick',
      ),
      runtime.every(
        cfg.splitRegionCheckTickIntervalMs,
        () => this.job(() => this.forEachPeer((h) => h.onSplitRegionCheckTick())),
        'split check tick',
      ),
      runtime.every(cfg.schedulerStoreHeartbeatTickIntervalMs, () => this.job(() => this.storeHeartbeat()), 'store heartbeat tick'),
    );
    ctx.scheduler.onRegionHeartbeatResponse((resp) => this.job(() => this.onRegionHeartbeatResponse(resp)));
    // The peers' first Readies (a single-member region campaigned already) are handled by a first job.
    for (const peer of ctx.router.all()) ctx.markDirty(peer);
    runtime.post('raftstore start', () => this.job(() => undefined));
  }

  /**
   * Runs `work` as the body of an actor job, then handles the Readies it caused. When other jobs already wait
   * (a real runtime under load: waitingJobs), their Readies are gathered with this one's instead, in one
   * 'raft ready' job queued behind them: one raft-log write and one message per follower then carry many
   * proposals. The simulation's runtime gives no such hint, so there every job handles its Readies at once.
   */
  private async job(work: () => void | Promise<void>): Promise<void> {
    if (this.stopped) return;
    await work();
    if ((this.ctx.runtime.waitingJobs?.() ?? 0) > 0) {
      if (!this.readyJobQueued) {
        this.readyJobQueued = true;
        this.ctx.runtime.post('raft ready', async () => {
          this.readyJobQueued = false;
          if (!this.stopped) await this.handleReadies();
        });
      }
      return;
    }
    await this.handleReadies();
  }

  private forEachPeer(fn: (handler: PeerMsgHandler) => void): void {
    for (const peer of this.ctx.router.all()) {
      if (!peer.stopped) fn(new PeerMsgHandler(peer, this.ctx));
    }
  }

  private async handleReadies(): Promise<void> {
    const ctx = this.ctx;
    for (let round = 0; round < MAX_READY_ROUNDS && ctx.dirty.size > 0; round++) {
      const peers = [...ctx.dirty].sort((a, b) => a.regionId - b.regionId);
      ctx.dirty.clear();
      for (const peer of peers) {
        if (peer.stopped) continue;
        this.changedPeers.add(peer);
        const handler = new PeerMsgHandler(peer, ctx);
        await handler.handleRaftReady();
        if (!peer.stopped && peer.raftGroup.hasReady()) ctx.markDirty(peer);
      }
    }
  }

  private storeHeartbeat(): void {
    const ctx = this.ctx;
    ctx.scheduler.storeHeartbeat(
      schedulerpb.StoreHeartbeatRequest({
        stats: schedulerpb.StoreStats({
          storeId: ctx.storeId,
          regionCount: ctx.storeMeta.regions.size,
        }),
      }),
    );
  }

  /**
   * The scheduler answered a region heartbeat with an operator step (3B): the region's leader proposes it as
   * an admin command (ChangePeer or TransferLeader), like a client would. Nobody waits for the answer: the
   * scheduler sees the result in later heartbeats and repeats the step until it is done.
   */
  private onRegionHeartbeatResponse(resp: schedulerpb.RegionHeartbeatResponse): void {
    const ctx = this.ctx;
    const peer = ctx.router.get(resp.regionId);
    if (peer === undefined || peer.stopped || !peer.isLeader()) return;
    let admin: raft_cmdpb.AdminRequest;
    if (resp.changePeer?.peer !== undefined) {
      admin = raft_cmdpb.AdminRequest({
        cmdType: raft_cmdpb.AdminCmdType.ChangePeer,
        changePeer: raft_cmdpb.ChangePeerRequest({ changeType: resp.changePeer.changeType, peer: clonePeer(resp.changePeer.peer) }),
      });
    } else if (resp.transferLeader?.peer !== undefined) {
      admin = raft_cmdpb.AdminRequest({
        cmdType: raft_cmdpb.AdminCmdType.TransferLeader,
        transferLeader: raft_cmdpb.TransferLeaderRequest({ peer: clonePeer(resp.transferLeader.peer) }),
      });
    } else {
      return;
    }
    const req = raft_cmdpb.RaftCmdRequest({
      header: raft_cmdpb.RaftRequestHeader({
        regionId: peer.regionId,
        peer: clonePeer(peer.meta),
        regionEpoch: cloneEpoch(resp.regionEpoch ?? peer.region().regionEpoch),
      }),
      adminRequest: admin,
    });
    new PeerMsgHandler(peer, ctx).proposeRaftCommand(
      req,
      onceCallback(({ response }) => {
        const error = response.header?.error;
        if (error !== undefined) peer.logger.debug('scheduler operator not done', { type: raft_cmdpb.AdminCmdType[admin.cmdType], error: error.message });
      }),
    );
  }

  // ---------------------------------------------------------------------------------------------------
  // The contract with clients and tests

  /**
   * Routes a command to its region's peer on this store; resolves once it is applied, or refused/answered
   * with an error (in response.header.error). Call it from outside the actor: it posts itself into the actor.
   */
  sendCommand(req: raft_cmdpb.RaftCmdRequest): Promise<CommandResult> {
    return new Promise<CommandResult>((resolve) => {
      const cb = onceCallback(resolve);
      const regionId = req?.header?.regionId ?? 0;
      if (this.stopped || this.stopping !== undefined) {
        cb.done({ response: errorResponse(otherError(`store ${this.ctx.storeId} is stopping`)) });
        return;
      }
      this.ctx.runtime.post(`command for region ${regionId}`, () =>
        this.job(() => this.onRaftCommand(req, cb)).finally(() => {
          if (!cb.answered && this.stopped) cb.done({ response: errorResponse(otherError(`store ${this.ctx.storeId} stopped`)) });
        }),
      );
    });
  }

  private onRaftCommand(req: raft_cmdpb.RaftCmdRequest, cb: Callback): void {
    const header = req?.header;
    if (header === undefined) {
      cb.done({ response: errorResponse(otherError('the command has no header')) });
      return;
    }
    const peer = this.ctx.router.get(header.regionId);
    if (peer === undefined) {
      cb.done({ response: errorResponse(regionNotFoundError(header.regionId)) });
      return;
    }
    new PeerMsgHandler(peer, this.ctx).proposeRaftCommand(req, cb);
  }

  /**
   * Graceful stop: no more ticks, messages or commands; waiting commands are answered with an error; resolves
   * once the background tasks have finished. The caller closes the engines afterwards.
   */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.stopping = new Promise<void>((resolve) => {
      this.ctx.runtime.post('raftstore stop', () => {
        const ctx = this.ctx;
        this.stopped = true;
        ctx.stopping = true;
        for (const timer of this.timers) timer.cancel();
        ctx.transport.listen(() => undefined);
        for (const peer of ctx.router.all()) {
          peer.answerAllProposals(otherError(`store ${ctx.storeId} stopped before the command was applied`));
          peer.stop();
          peer.storage.cancelSnapshotGeneration();
        }
        ctx.whenIdle(resolve);
        ctx.logger.info('raftstore stopping');
      });
    });
    return this.stopping;
  }

  // ---------------------------------------------------------------------------------------------------
  // Read-only inspection (tests)

  get storeId(): number {
    return this.ctx.storeId;
  }

  regionIds(): number[] {
    return this.ctx.router.regionIds();
  }

  regionOf(regionId: number): ReturnType<typeof cloneRegion> | undefined {
    const peer = this.ctx.router.get(regionId);
    return peer === undefined ? undefined : cloneRegion(peer.region());
  }

  isLeader(regionId: number): boolean {
    return this.ctx.router.get(regionId)?.isLeader() ?? false;
  }

  applyStateOf(regionId: number): { appliedIndex: number; truncatedIndex: number; truncatedTerm: number } | undefined {
    const peer = this.ctx.router.get(regionId);
    if (peer === undefined) return undefined;
    return {
      appliedIndex: peer.storage.appliedIndex(),
      truncatedIndex: peer.storage.truncatedIndex(),
      truncatedTerm: peer.storage.truncatedTerm(),
    };
  }

  /**
   * The store's bookkeeping of its regions, as copies (tests, debugging): the peers the router holds (with
   * their regions), the region map and the range index. They must agree: see harness/cluster/invariants.ts.
   */
  metaView(): StoreMetaView {
    const ctx = this.ctx;
    return {
      peers: ctx.router.all().map((p) => ({ region: cloneRegion(p.region()), peerId: p.peerId, initialized: p.isInitialized() })),
      regions: [...ctx.storeMeta.regions.values()].map(cloneRegion).sort((a, b) => a.id - b.id),
      ranges: ctx.storeMeta.orderedRanges().map(cloneRegion),
    };
  }

  /** The applied index of region `regionId` as its apply state on the kv engine says (undefined: none). */
  persistedAppliedIndex(regionId: number): number | undefined {
    const bytes = this.ctx.engines.kv.getMetaSync(applyStateKey(regionId));
    return bytes === undefined ? undefined : decode('raft_serverpb.RaftApplyState', bytes).appliedIndex;
  }

  /**
   * The probes of the peers that handled a Ready since the last call, and only those: a peer's term, commit
   * and role change only through a Ready, so the checkers, which run after every event, look at these.
   */
  takeChangedProbes(): RaftProbe[] {
    const probes: RaftProbe[] = [];
    for (const peer of this.changedPeers) if (!peer.stopped) probes.push(this.probeOf(peer));
    this.changedPeers.clear();
    return probes;
  }

  private probeOf(peer: Peer): RaftProbe {
    // One live probe per peer: the checkers run after every event and must not allocate much.
    let probe = this.probes.get(peer);
    if (probe === undefined) {
      probe = new LiveRaftProbe(peer);
      this.probes.set(peer, probe);
    }
    return probe;
  }



  /** The peer of region `regionId` on this store: its raft state as this peer sees it (tests, debugging). */
  raftStatusOf(regionId: number): PeerRaftStatus | undefined {
    const peer = this.ctx.router.get(regionId);
    if (peer === undefined) return undefined;
    const status = peer.raftGroup.status();
    return {
      peerId: peer.peerId,
      role: StateType[status.raftState] as PeerRaftStatus['role'],
      term: status.term,
      leaderId: status.lead,
      lastIndex: status.lastIndex,
      commit: status.commit,
      applied: peer.storage.appliedIndex(),
    };
  }
}
