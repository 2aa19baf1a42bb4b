/**
 * The test cluster's client: how a request reaches a region's leader.
 *
 * A request goes to a store's Raftstore.sendCommand and the client waits for the answer in virtual time
 * (sim.waitFor). Requests follow TinyKV's retry rules: find the key's region at the scheduler, send to the
 * believed leader, follow NotLeader hints or try another store, and retry StaleCommand / EpochNotMatch /
 * RegionNotFound / timeouts after a short virtual sleep, until a virtual deadline.
 */
import { raft_cmdpb, type errorpb, type metapb } from '#proto';
import type { CommandResult } from '@impl/kv/raftstore/raftstore.ts';
import { cloneEpoch, findPeerOnStore } from '@impl/kv/raftstore/region-util.ts';
import { WaitTimeoutError } from '../sim/index.ts';
import type { Cluster } from './cluster.ts';
import { ClusterCheckError, RequestTimeoutError } from './errors.ts';
import { samePeer, showKey, showRegion } from './keys.ts';
import type { RegionInfo } from './mock-scheduler.ts';
import { REGION_WAIT_MS, regionInfoById, regionInfoForKey } from './regions.ts';
import type { StoreInstance } from './stores.ts';

const { CmdType, AdminCmdType } = raft_cmdpb;

/** A request is retried at least this many times before its deadline can end it (as TinyKV's Request). */
const MIN_ATTEMPTS = 10;
/** How long one attempt waits for a store's answer (TinyKV: 1 s). */
const ATTEMPT_TIMEOUT_MS = 1000;
/**
 * Virtual time a client's request takes to reach a store and its answer to come back, on top of the store's
 * own work: between CLIENT_HOP_MIN_MS and CLIENT_HOP_MAX_MS (seeded). Without it a region with one member
 * would answer in zero virtual time, and a client could loop without virtual time ever moving on.
 */
const CLIENT_HOP_MIN_MS = 2;
const CLIENT_HOP_MAX_MS = 6;
/** Consecutive NotLeader hints followed without a pause, before the client sleeps a little. */
const FREE_HOPS = 3;

/**
 * Told about each attempt of a request that reached a store and may have taken effect without success: no
 * answer in time, or an answer that does not rule it out. NotLeader, EpochNotMatch, KeyNotInRegion and
 * StoreNotMatch do rule it out: they say the command was refused and never will be applied (an
 * implementation that answers one of them for a command it then applies breaks that promise). Any other
 * error (StaleCommand, RegionNotFound, a message) may come after the command was proposed: a peer that stops
 * or is destroyed answers its waiting proposals so, though their entries may still commit elsewhere.
 * `sentAt` is when the attempt reached the store (virtual ms). Histories record such attempts (recorder.ts).
 */
export type UnsettledAttempt = (sentAt: number) => void;

/** Whether `error` says that the command was refused for good (see UnsettledAttempt). */
function refusedForGood(error: errorpb.Error): boolean {
  return error.notLeader !== undefined || error.epochNotMatch !== undefined || error.keyNotInRegion !== undefined || error.storeNotMatch !== undefined;
}

/** One attempt's outcome. */
type CallOutcome =
  | { kind: 'answered'; result: CommandResult; sentAt: number }
  | { kind: 'timeout'; sentAt: number }
  | { kind: 'down' };

/**
 * Send data requests for the region of `key` until one attempt succeeds (TinyKV's Request). Returns the
 * successful result; a Snap result carries a reader the caller must close. Throws RequestTimeoutError
 * once the deadline has passed and at least 10 attempts were made.
 */
export async function request(
  cluster: Cluster,
  key: Uint8Array,
  reqs: raft_cmdpb.Request[],
  timeoutMs: number,
  onUnsettled?: UnsettledAttempt,
): Promise<CommandResult> {
  const what = describeRequests(key, reqs);
  return sendWithRetries(
    cluster,
    what,
    // A request may wait for the scheduler to learn a new region as long as its deadline allows.
    () => regionInfoForKey(cluster, key, Math.max(REGION_WAIT_MS, timeoutMs)),
    (region, peer) =>
      raft_cmdpb.RaftCmdRequest({
        header: raft_cmdpb.RaftRequestHeader({ regionId: region.id, regionEpoch: cloneEpoch(region.regionEpoch), peer }),
        requests: reqs,
      }),
    timeoutMs,
    onUnsettled,
  );
}

/** Send an admin request to a region's leader, with the same retry rules. */
export async function adminRequest(cluster: Cluster, regionId: number, admin: raft_cmdpb.AdminRequest, timeoutMs: number): Promise<CommandResult> {
  return sendWithRetries(
    cluster,
    `admin ${AdminCmdType[admin.cmdType] ?? admin.cmdType} on region ${regionId}`,
    () => regionInfoById(cluster, regionId, Math.max(REGION_WAIT_MS, timeoutMs)),
    (region, peer) =>
      raft_cmdpb.RaftCmdRequest({
        header: raft_cmdpb.RaftRequestHeader({ regionId: region.id, regionEpoch: cloneEpoch(region.regionEpoch), peer }),
        adminRequest: admin,
      }),
    timeoutMs,
  );
}

/**
 * Send data requests to `region` as the caller knows it (its id and epoch, not the scheduler's current
 * view) at its leader, following NotLeader hints, for up to 5 virtual seconds (TinyKV's CallCommandOnLeader).
 * Returns the region error of the first answer that is not NotLeader, or undefined if it succeeded.
 */
export async function callOnLeader(cluster: Cluster, region: metapb.Region, reqs: raft_cmdpb.Request[]): Promise<errorpb.Error | undefined> {
  const what = `${describeRequests(new Uint8Array(0), reqs)} on ${showRegion(region)}`;
  const started = cluster.sim.now();
  let target = cluster.scheduler.leaderOf(region.id) ?? region.peers[0];
  while (cluster.sim.now() - started < 5000) {
    if (target === undefined) throw new ClusterCheckError(`${what}: the region has no peers`);
    const req = raft_cmdpb.RaftCmdRequest({
      header: raft_cmdpb.RaftRequestHeader({ regionId: region.id, regionEpoch: cloneEpoch(region.regionEpoch), peer: target }),
      requests: reqs,
    });
    const outcome = await callCommand(cluster, target.storeId, req, what);
    if (outcome.kind === 'answered') {
      void outcome.result.reader?.close();
      const error = outcome.result.response.header?.error;
      if (error?.notLeader === undefined) return error;
      const hint = error.notLeader.leader;
      target = hint !== undefined && hint.id !== 0 ? hint : region.peers[cluster.random.nextInt(region.peers.length)];
    } else {
      target = region.peers[cluster.random.nextInt(region.peers.length)];
    }
    await cluster.sim.sleep(10);
  }
  throw new ClusterCheckError(`${what}: no leader answered within 5000 virtual ms`);
}

/**
 * Hand `reqs` straight to store `storeId`'s raftstore, addressed to region `regionId` as that store knows it:
 * a single proposal, never retried elsewhere (unlike request). Returns the pending answer.
 */
export function sendToStore(cluster: Cluster, storeId: number, regionId: number, reqs: raft_cmdpb.Request[]): Promise<CommandResult> {
  const store = cluster.raftstore(storeId);
  const region = store.regionOf(regionId);
  if (region === undefined) throw new ClusterCheckError(`store ${storeId} has no region ${regionId}`);
  return store.sendCommand(
    raft_cmdpb.RaftCmdRequest({
      header: raft_cmdpb.RaftRequestHeader({ regionId, peer: findPeerOnStore(region, storeId), regionEpoch: region.regionEpoch }),
      requests: reqs,
    }),
  );
}

async function sendWithRetries(
  cluster: Cluster,
  what: string,
  locate: () => Promise<RegionInfo>,
  build: (region: metapb.Region, peer: metapb.Peer) => raft_cmdpb.RaftCmdRequest,
  timeoutMs: number,
  onUnsettled?: UnsettledAttempt,
): Promise<CommandResult> {
  const sim = cluster.sim;
  const started = sim.now();
  let attempts = 0;
  let lastProblem = 'no attempt made';
  let target: metapb.Peer | undefined;
  let hops = 0;
  // Peers that did not answer during this request: not tried again (hint or not) while others remain.
  // An old leader cut off in a minority keeps telling the scheduler it leads; without this the client
  // would go back to it again and again.
  const silent = new Set<number>();
  for (;;) {
    if (attempts >= MIN_ATTEMPTS && sim.now() - started >= timeoutMs) {
      throw new RequestTimeoutError(what, timeoutMs, attempts, lastProblem);
    }
    attempts++;
    const info = await locate();
    const region = info.region;
    if (region.peers.every((p) => silent.has(p.id))) silent.clear();
    if (target === undefined || silent.has(target.id)) target = pickPeer(cluster, region, info.leader, silent);
    if (target === undefined) {
      lastProblem = `${showRegion(region)} has no peers`;
      await sim.sleep(100);
      continue;
    }
    const outcome = await callCommand(cluster, target.storeId, build(region, target), what);
    if (outcome.kind === 'timeout') onUnsettled?.(outcome.sentAt);
    if (outcome.kind === 'answered') {
      const error = outcome.result.response.header?.error;
      if (error !== undefined && !refusedForGood(error)) onUnsettled?.(outcome.sentAt);
    }
    if (outcome.kind !== 'answered') {
      lastProblem = outcome.kind === 'down' ? `store ${target.storeId} is down` : `no answer from store ${target.storeId} within ${ATTEMPT_TIMEOUT_MS} ms`;
      silent.add(target.id);
      target = undefined;
      hops = 0;
      if (outcome.kind === 'down') await sim.sleep(10);
      continue;
    }
    const { result } = outcome;
    const error = result.response.header?.error;
    if (error === undefined) return result;
    if (result.reader !== undefined) await result.reader.close();
    lastProblem = `store ${target.storeId}: ${describeRegionError(error)}`;
    if (error.notLeader !== undefined) {
      const hint = error.notLeader.leader;
      const useful = hint !== undefined && hint.id !== 0 && !samePeer(hint, target) && !silent.has(hint.id);
      if (useful && hops < FREE_HOPS) {
        target = hint;
        hops++;
      } else {
        // No usable hint: try a peer other than this one, after a short pause.
        silent.add(target.id);
        target = undefined;
        hops = 0;
        await sim.sleep(10);
      }
      continue;
    }
    hops = 0;
    target = undefined; // ask the scheduler again
    if (error.staleCommand !== undefined) {
      await sim.sleep(20);
    } else if (error.epochNotMatch !== undefined) {
      await sim.sleep(50);
    } else {
      // RegionNotFound, KeyNotInRegion, StoreNotMatch or another refusal: the scheduler's view is behind.
      await sim.sleep(100);
    }
  }
}

/** One attempt: after the client hop, hand the command to store `storeId` and wait up to a second of virtual time. */
async function callCommand(cluster: Cluster, storeId: number, req: raft_cmdpb.RaftCmdRequest, what: string): Promise<CallOutcome> {
  const sim = cluster.sim;
  await sim.sleep(CLIENT_HOP_MIN_MS + cluster.random.nextInt(CLIENT_HOP_MAX_MS - CLIENT_HOP_MIN_MS + 1));
  if (!sim.isUp(storeId)) return { kind: 'down' };
  const raftstore = sim.instance<StoreInstance>(storeId).raftstore;
  const sentAt = sim.now();
  const pending = raftstore.sendCommand(req);
  cluster.invariants?.watchAnswer(storeId, raftstore, req, pending);
  try {
    const result = await sim.waitFor(pending, { timeoutMs: ATTEMPT_TIMEOUT_MS, label: `${what} at s${storeId}` });
    if (result.reader !== undefined && !(sim.isUp(storeId) && sim.instance<StoreInstance>(storeId).raftstore === raftstore)) {
      // The store lost power after answering a Snap: its engine is gone, and so is the reader it handed out
      // (a real client's connection to it would have broken). Try again, as for a store that is down.
      await result.reader.close().catch(() => undefined);
      return { kind: 'down' };
    }
    return { kind: 'answered', result, sentAt };
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
    // The answer may still come; a reader in it must not stay open.
    pending.then(
      (late) => late.reader?.close().catch(() => undefined),
      () => undefined,
    );
    return { kind: 'timeout', sentAt };
  }
}

/** The scheduler's leader unless it is silent, else a random peer that is not silent. */
function pickPeer(cluster: Cluster, region: metapb.Region, leader: metapb.Peer | undefined, silent: ReadonlySet<number>): metapb.Peer | undefined {
  if (leader !== undefined && !silent.has(leader.id) && region.peers.some((p) => samePeer(p, leader))) return leader;
  const candidates = region.peers.filter((p) => !silent.has(p.id));
  if (candidates.length === 0) return region.peers[0];
  return candidates[cluster.random.nextInt(candidates.length)];
}

function describeRequests(key: Uint8Array, reqs: raft_cmdpb.Request[]): string {
  const types = reqs.map((r) => (CmdType[r.cmdType] ?? String(r.cmdType)).toLowerCase()).join('+');
  return `${types} ${showKey(key)}`;
}

function describeRegionError(error: errorpb.Error): string {
  if (error.notLeader !== undefined) {
    const l = error.notLeader.leader;
    return `NotLeader${l === undefined ? '' : ` (leader ${l.id} on store ${l.storeId})`}`;
  }
  if (error.staleCommand !== undefined) return 'StaleCommand';
  if (error.epochNotMatch !== undefined) return 'EpochNotMatch';
  if (error.regionNotFound !== undefined) return 'RegionNotFound';
  if (error.keyNotInRegion !== undefined) return 'KeyNotInRegion';
  if (error.storeNotMatch !== undefined) return 'StoreNotMatch';
  return error.message || 'unknown region error';
}
