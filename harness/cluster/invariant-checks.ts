/**
 * The invariant checkers of a cluster test, on by default (ClusterOptions.invariants; SIM_CHECKS=off turns
 * them off, to measure what they cost): raft's safety properties after every event of a store
 * (raft-safety.ts), what the stores write, on every engine write (write-checks.ts), and that a write is
 * answered only once it is applied and written (below).
 */
import { raft_cmdpb } from '#proto';
import type { Engines } from '@impl/kv/raftstore/engines.ts';
import type { CommandResult, Raftstore } from '@impl/kv/raftstore/raftstore.ts';
import type { Sim } from '../sim/index.ts';
import { ClusterUsageError } from './errors.ts';
import { RaftSafetyChecker } from './raft-safety.ts';
import { WriteChecker } from './write-checks.ts';

/** Whether clusters check their invariants when their options do not say: SIM_CHECKS=off turns them off. */
export function invariantsByDefault(env: Record<string, string | undefined> = process.env): boolean {
  const value = env.SIM_CHECKS;
  if (value === undefined || value === '' || value === 'on') return true;
  if (value === 'off') return false;
  throw new ClusterUsageError(`SIM_CHECKS must be "on" or "off", got "${value}"`);
}

/**
 * The checkers of one cluster, registered with its simulation at construction: raft safety after each event
 * of a store, store writes on each engine write (watchEngines must see each store's engines when they are
 * opened), and client answers (watchAnswer, for each command sent).
 */
export class ClusterInvariants {
  private readonly raft: RaftSafetyChecker;
  private readonly writes: WriteChecker;
  private answerViolation: string | undefined;

  /** `runningStore(id)`: store id's raftstore while it is up and started (undefined otherwise). */
  constructor(sim: Sim, runningStore: (storeId: number) => Raftstore | undefined) {
    this.raft = new RaftSafetyChecker((storeId) => runningStore(storeId)?.takeChangedProbes());
    this.writes = new WriteChecker(
      (storeId, regionId) => runningStore(storeId)?.regionOf(regionId),
      (storeId, regionId) => runningStore(storeId)?.raftStatusOf(regionId)?.commit,
      (regionId, index) => this.raft.committedTerm(regionId, index),
    );
    sim.addInvariant('raft safety', (node) => (node === undefined ? undefined : this.raft.checkStore(node)));
    sim.addInvariant('store writes', () => this.writes.takeViolation());
    sim.addInvariant('answers', () => this.takeAnswerViolation());
  }

  /** Store `storeId` opened `engines`: check every write from now on. */
  watchEngines(storeId: number, engines: Engines): void {
    this.writes.watch(storeId, engines);
  }

  /**
   * A command with writes (Put, Delete) was just sent to `raftstore`: it may be answered as done only once
   * its entry is applied and written. Its entry comes after the region's last index now, so when the answer
   * comes (checked at that very moment, inside the store's event) the applied index the store has written
   * must be beyond it.
   */
  watchAnswer(storeId: number, raftstore: Raftstore, req: raft_cmdpb.RaftCmdRequest, answer: Promise<CommandResult>): void {
    const writes = req.requests.some((r) => r.cmdType === raft_cmdpb.CmdType.Put || r.cmdType === raft_cmdpb.CmdType.Delete);
    const regionId = req.header?.regionId ?? 0;
    const before = raftstore.raftStatusOf(regionId)?.lastIndex;
    if (!writes || before === undefined) return;
    answer.then(
      (result) => {
        if (result.response.header?.error !== undefined) return;
        const applied = raftstore.persistedAppliedIndex(regionId);
        if (applied !== undefined && applied <= before) {
          this.answerViolation ??=
            `store ${storeId} answered a write to region ${regionId} as done, but the applied index it has written is ` +
            `${applied}, and the entry of that write comes after index ${before}: a proposal may be answered only after ` +
            `its entry is applied and written`;
        }
      },
      () => undefined,
    );
  }

  private takeAnswerViolation(): string | undefined {
    const violation = this.answerViolation;
    this.answerViolation = undefined;
    return violation;
  }
}
