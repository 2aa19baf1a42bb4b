/**
 * Raft under random schedules, for property-based tests (fast-check): 3-5 RawNodes over MemoryStorage, a
 * network that holds every message in flight until a schedule step delivers, drops or duplicates it (in any
 * order), partitions, ticks of single nodes, proposals, restarts from storage, (2C) log compaction and (3A)
 * membership changes. After every step the Raft paper's safety properties are checked against everything
 * the nodes ever showed:
 *
 *   - Election Safety: at most one leader per term;
 *   - Log Matching: two logs holding an entry of the same index and term hold the same entries before it;
 *   - Leader Completeness: a leader of term T holds every entry committed in a term before T;
 *   - State Machine Safety: every node applies the same entry at a given index;
 *   - a node's term and commit index never go back (in memory within one life; as persisted, ever).
 *
 * With membership changes (3A), five nodes start with 1-3 as the group (a raftstore-like bootstrap: a log
 * that begins after index 5) and 4-5 empty; steps propose adding or removing any node, one change at a time
 * as raft allows, and each node applies the changes it commits. A node remembers the membership it applied
 * (as a raftstore keeps it in the region state), so a restart starts from it.
 *
 * A violation throws RaftModelViolation naming the step; fast-check then shrinks the schedule to a minimal
 * one. A node's Ready is handled when a schedule step says so, as a raftstore does: persist (snapshot,
 * entries, hard state), send the messages, apply the committed entries, advance.
 */
import fc from 'fast-check';
import { eraftpb } from '#proto';
import { decode } from '#proto/codec.ts';
import { RaftError } from '@impl/raft/errors.ts';
import { StateType } from '@impl/raft/raft.ts';
import { RawNode } from '@impl/raft/rawnode.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import { SeededRandom } from '@impl/util/prng.ts';
import { newTestConfig } from './helpers.ts';

type Message = eraftpb.Message;

/** One step of a schedule. `pick` chooses among the messages in flight (modulo their number). */
export type ModelStep =
  | { kind: 'tick'; node: number }
  | { kind: 'tickAll' }
  | { kind: 'ready'; node: number }
  | { kind: 'readyAll' }
  | { kind: 'deliverAll' }
  | { kind: 'propose'; node: number }
  | { kind: 'deliver'; pick: number }
  | { kind: 'drop'; pick: number }
  | { kind: 'duplicate'; pick: number }
  | { kind: 'partition'; side: number[] }
  | { kind: 'heal' }
  | { kind: 'restart'; node: number }
  | { kind: 'compact'; node: number }
  | { kind: 'confChange'; node: number; target: number; add: boolean };

export interface ModelOptions {
  /** Number of nodes (ids 1..size). */
  size: number;
  /** Whether schedules compact logs (snapshots then reach followers that fell behind: 2C). */
  compaction: boolean;
  /** Whether schedules change the membership (3A; needs size 5: nodes 1-3 start as the group). */
  membership?: boolean;
}

/** Where a bootstrapped group's log starts, as in the raftstore: an initial snapshot at index 5, term 5. */
const BOOTSTRAP_INDEX = 5;

/** A safety property was broken; the message names it and the step. */
export class RaftModelViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RaftModelViolation';
  }
}

/** Schedules for `options`: mostly ticks and deliveries, so that elections finish and entries commit. */
export function scheduleArbitrary(options: ModelOptions, maxSteps = 500): fc.Arbitrary<ModelStep[]> {
  const node = fc.integer({ min: 1, max: options.size });
  const pick = fc.nat({ max: 1000 });
  const steps: fc.WeightedArbitrary<ModelStep>[] = [
    { weight: 15, arbitrary: node.map((n) => ({ kind: 'tick', node: n }) as ModelStep) },
    { weight: 15, arbitrary: fc.constant({ kind: 'tickAll' } as ModelStep) },
    { weight: 30, arbitrary: pick.map((p) => ({ kind: 'deliver', pick: p }) as ModelStep) },
    { weight: 10, arbitrary: fc.constant({ kind: 'deliverAll' } as ModelStep) },
    { weight: 15, arbitrary: node.map((n) => ({ kind: 'ready', node: n }) as ModelStep) },
    { weight: 10, arbitrary: fc.constant({ kind: 'readyAll' } as ModelStep) },
    { weight: 8, arbitrary: node.map((n) => ({ kind: 'propose', node: n }) as ModelStep) },
    { weight: 4, arbitrary: pick.map((p) => ({ kind: 'drop', pick: p }) as ModelStep) },
    { weight: 3, arbitrary: pick.map((p) => ({ kind: 'duplicate', pick: p }) as ModelStep) },
    {
      weight: 4,
      arbitrary: fc
        .subarray(Array.from({ length: options.size }, (_, i) => i + 1), { minLength: 1, maxLength: options.size - 1 })
        .map((side) => ({ kind: 'partition', side }) as ModelStep),
    },
    { weight: 3, arbitrary: fc.constant({ kind: 'heal' } as ModelStep) },
    { weight: 2, arbitrary: node.map((n) => ({ kind: 'restart', node: n }) as ModelStep) },
  ];
  if (options.compaction) steps.push({ weight: 3, arbitrary: node.map((n) => ({ kind: 'compact', node: n }) as ModelStep) });
  if (options.membership) {
    steps.push({
      weight: 8,
      arbitrary: fc
        .record({ node, target: node, add: fc.boolean() })
        .map(({ node: n, target, add }) => ({ kind: 'confChange', node: n, target, add }) as ModelStep),
    });
  }
  // size 'max': lengths spread up to maxSteps (the default favours a handful of steps, too few to elect).
  return fc.array(fc.oneof(...steps), { maxLength: maxSteps, size: 'max' });
}

/**
 * A node's storage that also keeps the membership the node applied last (a raftstore keeps it in the region
 * state): a restart starts from it, not from the bootstrap membership of the log's first snapshot.
 */
class ModelStorage extends MemoryStorage {
  members: number[] | undefined;

  override initialState(): ReturnType<MemoryStorage['initialState']> {
    const state = super.initialState();
    return this.members === undefined ? state : { ...state, confState: eraftpb.ConfState({ nodes: [...this.members] }) };
  }
}

/** One node: raft, its storage, and what its state machine applied. */
interface ModelNode {
  id: number;
  raw: RawNode;
  storage: ModelStorage;
  appliedIndex: number;
  /** The payloads applied, by index (normal entries with data). */
  applied: Map<number, string>;
  /** Term and commit index in memory, as last seen in this life of the node (a restart starts over). */
  term: number;
  commit: number;
  /** Term and commit index of the persisted hard state, as last seen (they never go back, restarts included). */
  savedTerm: number;
  savedCommit: number;
}

export function describeStep(step: ModelStep): string {
  switch (step.kind) {
    case 'tick':
    case 'ready':
    case 'propose':
    case 'restart':
    case 'compact':
      return `${step.kind} ${step.node}`;
    case 'confChange':
      return `node ${step.node} proposes ${step.add ? 'adding' : 'removing'} ${step.target}`;
    case 'deliver':
    case 'drop':
    case 'duplicate':
      return `${step.kind} #${step.pick}`;
    case 'partition':
      return `partition [${step.side.join(',')}]`;
    case 'heal':
    case 'tickAll':
    case 'readyAll':
    case 'deliverAll':
      return step.kind;
  }
}

export class RaftModel {
  private readonly nodes = new Map<number, ModelNode>();
  private inFlight: Message[] = [];
  private side: Set<number> | undefined;
  private proposals = 0;
  private stepNumber = 0;
  /** Leader of each term. */
  private readonly leaders = new Map<number, number>();
  /** Term of the entry committed at each index, and the lowest term of a node that counted it committed. */
  private readonly committed = new Map<number, { term: number; seenInTerm: number }>();
  /** The payload applied at each index (by the first node to apply it). */
  private readonly appliedPayloads = new Map<number, string>();

  constructor(
    private readonly options: ModelOptions,
    private readonly seed: number,
  ) {
    if (options.membership && options.size !== 5) throw new Error('membership schedules run on 5 nodes');
    const ids = Array.from({ length: options.size }, (_, i) => i + 1);
    for (const id of ids) {
      const storage = new ModelStorage(options.membership ? undefined : eraftpb.ConfState({ nodes: ids }));
      if (options.membership) {
        // Nodes 1-3 are bootstrapped as the group; 4 and 5 are empty until a leader sends them a snapshot.
        if (id <= 3) {
          storage.applySnapshot(
            eraftpb.Snapshot({
              metadata: eraftpb.SnapshotMetadata({ index: BOOTSTRAP_INDEX, term: BOOTSTRAP_INDEX, confState: eraftpb.ConfState({ nodes: [1, 2, 3] }) }),
            }),
          );
          storage.setHardState(eraftpb.HardState({ term: BOOTSTRAP_INDEX, commit: BOOTSTRAP_INDEX }));
        }
      }
      const applied = storage.firstIndex() - 1;
      this.nodes.set(id, { id, raw: this.start(id, storage, applied), storage, appliedIndex: applied, applied: new Map(), term: 0, commit: 0, savedTerm: 0, savedCommit: 0 });
    }
  }

  private start(id: number, storage: MemoryStorage, applied: number): RawNode {
    // The membership comes from the storage (empty for a node that has not joined yet).
    const cfg = newTestConfig(id, [], 10, 1, storage, new SeededRandom(Math.imul(this.seed, 7919) + id * 131 + this.stepNumber));
    return new RawNode({ ...cfg, applied });
  }

  /**
   * Run one step and check the properties (throws RaftModelViolation). A node's Ready waits for a 'ready'
   * step, as a busy raftstore's would: messages keep arriving meanwhile, and a restart loses what it held
   * (nothing of it was persisted or sent).
   */
  run(step: ModelStep): void {
    this.stepNumber++;
    this.apply(step);
    const problem = this.violation();
    if (problem !== undefined) throw new RaftModelViolation(`after step ${this.stepNumber} (${describeStep(step)}): ${problem}`);
  }

  private apply(step: ModelStep): void {
    switch (step.kind) {
      case 'tick':
        this.node(step.node).raw.tick();
        return;
      case 'tickAll':
        for (const n of this.nodes.values()) n.raw.tick();
        return;
      case 'ready':
        this.handleReady(this.node(step.node));
        return;
      case 'readyAll':
        for (const n of this.nodes.values()) this.handleReady(n);
        return;
      case 'deliverAll': {
        // Everything in flight now, in the order sent (what it causes waits for later steps).
        const now = this.inFlight;
        this.inFlight = [];
        for (const m of now) this.deliver(m);
        return;
      }
      case 'propose': {
        this.proposals++;
        this.node(step.node).raw.propose(new TextEncoder().encode(`p${this.proposals}`));
        return;
      }
      case 'deliver':
      case 'drop':
      case 'duplicate': {
        if (this.inFlight.length === 0) return;
        const at = step.pick % this.inFlight.length;
        const m = this.inFlight[at]!;
        if (step.kind === 'duplicate') {
          this.inFlight.push(copyMessage(m));
          return;
        }
        this.inFlight.splice(at, 1);
        if (step.kind === 'deliver') this.deliver(m);
        return;
      }
      case 'partition':
        this.side = new Set(step.side);
        return;
      case 'heal':
        this.side = undefined;
        return;
      case 'restart': {
        const n = this.node(step.node);
        n.raw = this.start(n.id, n.storage, n.appliedIndex);
        n.term = 0;
        n.commit = 0;
        return;
      }
      case 'confChange': {
        const changeType = step.add ? eraftpb.ConfChangeType.AddNode : eraftpb.ConfChangeType.RemoveNode;
        this.node(step.node).raw.proposeConfChange(eraftpb.ConfChange({ changeType, nodeId: step.target }));
        return;
      }
      case 'compact': {
        const n = this.node(step.node);
        if (n.appliedIndex <= n.storage.firstIndex()) return;
        const nodes = [...n.raw.raft.prs.keys()].sort((a, b) => a - b);
        const state = JSON.stringify([...n.applied.entries()]);
        n.storage.createSnapshot(n.appliedIndex, eraftpb.ConfState({ nodes }), new TextEncoder().encode(state));
        n.storage.compact(n.appliedIndex);
        return;
      }
    }
  }

  private node(id: number): ModelNode {
    return this.nodes.get(id)!;
  }

  private deliver(m: Message): void {
    if (this.side !== undefined && this.side.has(m.from) !== this.side.has(m.to)) return; // cut by the partition
    const target = this.nodes.get(m.to);
    if (target === undefined) return;
    try {
      target.raw.step(copyMessage(m));
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
  }

  /** Handle `n`'s Ready, if it has one, as a raftstore does: persist, send, apply, advance. */
  private handleReady(n: ModelNode): void {
    if (!n.raw.hasReady()) return;
    const rd = n.raw.ready();
    const snap = rd.snapshot;
    if (snap?.metadata !== undefined && snap.metadata.index > 0) {
      n.storage.applySnapshot(snap);
      n.storage.members = snap.metadata.confState?.nodes.slice();
      n.applied = snap.data.length === 0 ? new Map() : new Map(JSON.parse(new TextDecoder().decode(snap.data)) as [number, string][]);
      n.appliedIndex = snap.metadata.index;
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.inFlight.push(m);
    for (const e of rd.committedEntries) {
      if (e.index !== n.appliedIndex + 1) {
        throw new RaftModelViolation(`after step ${this.stepNumber}: node ${n.id} was handed entry ${e.index} to apply after ${n.appliedIndex}`);
      }
      n.appliedIndex = e.index;
      if (e.entryType === eraftpb.EntryType.EntryNormal && e.data.length > 0) n.applied.set(e.index, new TextDecoder().decode(e.data));
      if (e.entryType === eraftpb.EntryType.EntryConfChange) {
        const cc = decode('eraftpb.ConfChange', e.data) as eraftpb.ConfChange;
        n.storage.members = n.raw.applyConfChange(cc).nodes;
        // Recorded like a payload, so State Machine Safety covers membership changes too.
        n.applied.set(e.index, `${eraftpb.ConfChangeType[cc.changeType]} ${cc.nodeId}`);
      }
      const payload = n.applied.get(e.index) ?? '';
      const before = this.appliedPayloads.get(e.index);
      if (before === undefined) this.appliedPayloads.set(e.index, payload);
      else if (before !== payload) {
        throw new RaftModelViolation(
          `after step ${this.stepNumber}: State Machine Safety: node ${n.id} applied "${payload}" at index ${e.index}, another node applied "${before}"`,
        );
      }
    }
    n.raw.advance(rd);
  }

  /** The first broken property, in words (undefined: none). */
  private violation(): string | undefined {
    for (const n of this.nodes.values()) {
      const raft = n.raw.raft;
      const log = raft.raftLog;
      if (raft.term < n.term) return `node ${n.id}'s term went back from ${n.term} to ${raft.term}`;
      if (log.committed < n.commit) return `node ${n.id}'s commit index went back from ${n.commit} to ${log.committed}`;
      n.term = raft.term;
      n.commit = log.committed;
      const saved = n.storage.initialState().hardState;
      if (saved.term < n.savedTerm) return `node ${n.id}'s persisted term went back from ${n.savedTerm} to ${saved.term}`;
      if (saved.commit < n.savedCommit) return `node ${n.id}'s persisted commit index went back from ${n.savedCommit} to ${saved.commit}`;
      n.savedTerm = saved.term;
      n.savedCommit = saved.commit;
      if (raft.state === StateType.Leader) {
        const leader = this.leaders.get(raft.term);
        if (leader !== undefined && leader !== n.id) return `Election Safety: nodes ${leader} and ${n.id} both lead term ${raft.term}`;
        this.leaders.set(raft.term, n.id);
      }
      for (let i = Math.max(log.firstIndex(), 1); i <= log.committed; i++) {
        const term = termAt(n, i);
        if (term === undefined) continue;
        const seen = this.committed.get(i);
        if (seen === undefined) this.committed.set(i, { term, seenInTerm: raft.term });
        else if (seen.term !== term) return `State Machine Safety: node ${n.id} has entry ${i} of term ${term} committed, but term ${seen.term} was committed there`;
        else if (raft.term < seen.seenInTerm) seen.seenInTerm = raft.term;
      }
    }
    for (const n of this.nodes.values()) {
      if (n.raw.raft.state !== StateType.Leader) continue;
      const term = n.raw.raft.term;
      for (const [index, c] of this.committed) {
        if (c.seenInTerm >= term || index < n.raw.raft.raftLog.firstIndex()) continue;
        const held = termAt(n, index);
        if (held !== c.term) {
          return `Leader Completeness: node ${n.id} leads term ${term} but holds ${held === undefined ? 'no entry' : `term ${held}`} at ${index}, committed in term ${c.seenInTerm} or before with term ${c.term}`;
        }
      }
    }
    return this.logMatching();
  }

  private logMatching(): string | undefined {
    const nodes = [...this.nodes.values()];
    for (let a = 0; a < nodes.length; a++) {
      for (let b = a + 1; b < nodes.length; b++) {
        const [x, y] = [nodes[a]!, nodes[b]!];
        const from = Math.max(x.raw.raft.raftLog.firstIndex(), y.raw.raft.raftLog.firstIndex());
        const to = Math.min(x.raw.raft.raftLog.lastIndex(), y.raw.raft.raftLog.lastIndex());
        let matchedAt = 0;
        for (let i = to; i >= from; i--) {
          if (termAt(x, i) === termAt(y, i)) {
            matchedAt = i;
            break;
          }
        }
        for (let i = from; i < matchedAt; i++) {
          if (termAt(x, i) !== termAt(y, i)) {
            return `Log Matching: nodes ${x.id} and ${y.id} agree on entry ${matchedAt} but differ at ${i} (terms ${termAt(x, i)} and ${termAt(y, i)})`;
          }
        }
      }
    }
    return undefined;
  }
}

function termAt(n: ModelNode, index: number): number | undefined {
  const log = n.raw.raft.raftLog;
  if (index < log.firstIndex() || index > log.lastIndex()) return undefined;
  try {
    return log.term(index);
  } catch {
    return undefined;
  }
}

function copyMessage(m: Message): Message {
  return eraftpb.Message({
    ...m,
    entries: m.entries.map((e) => eraftpb.Entry({ ...e, data: e.data.slice() })),
    snapshot: m.snapshot && eraftpb.Snapshot({ data: m.snapshot.data.slice(), metadata: m.snapshot.metadata && eraftpb.SnapshotMetadata({ ...m.snapshot.metadata }) }),
  });
}

/** Run `steps` on a fresh model; throws RaftModelViolation at the first broken property. */
export function runSchedule(options: ModelOptions, seed: number, steps: readonly ModelStep[]): void {
  const model = new RaftModel(options, seed);
  for (const step of steps) model.run(step);
}

/**
 * Check `runs` random schedules (seeded by `seed`, so SEED replays them). Returns undefined when every
 * property held, else the violation, the schedule fast-check shrank it to, and how to replay it.
 */
export function checkRandomSchedules(options: ModelOptions, seed: number, runs: number): string | undefined {
  const result = fc.check(
    fc.property(scheduleArbitrary(options), (steps) => runSchedule(options, seed, steps)),
    { seed, numRuns: runs },
  );
  if (!result.failed) return undefined;
  const steps = result.counterexample?.[0] ?? [];
  const error = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
  return (
    `${error}\nshrunk schedule (${steps.length} steps, ${options.size} nodes${options.compaction ? ', with compaction' : ''}` +
    `${options.membership ? ', with membership changes' : ''}): ` +
    `${steps.map(describeStep).join('; ')}\nreplay: SEED=${seed} (fast-check path ${result.counterexamplePath})`
  );
}
