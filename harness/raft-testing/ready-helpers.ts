/**
 * Playing the application above raft in the 2AC, 2C and 3A raft suites: handling a RawNode's Ready the way
 * an application must, building snapshots and snapshot messages, and a storage whose snapshot is not ready
 * yet.
 */
import { eraftpb } from '#proto';
import type { RawNode, Ready } from '@impl/raft/rawnode.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import { SnapshotTemporarilyUnavailableError } from '@impl/raft/errors.ts';
import type { Raft } from '@impl/raft/raft.ts';
import { decodeConfChange } from './membership-helpers.ts';

const { MessageType, EntryType } = eraftpb;
type Message = eraftpb.Message;

/** Persists what a Ready asks for, in the order an application must: snapshot, entries, hard state. */
export function persistReady(storage: MemoryStorage, rd: Ready): void {
  if (rd.snapshot) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState) storage.setHardState(rd.hardState);
}

/** Takes one Ready, persists it, applies committed conf changes, advances; returns the Ready. */
export function handleReady(rn: RawNode, storage: MemoryStorage): Ready {
  const rd = rn.ready();
  persistReady(storage, rd);
  for (const e of rd.committedEntries) {
    if (e.entryType === EntryType.EntryConfChange) rn.applyConfChange(decodeConfChange(e.data));
  }
  rn.advance(rd);
  return rd;
}

/** A snapshot (without data) of the state up to `index`, whose entry had `term`, with members `nodes`. */
export function snapshotAt(index: number, term: number, nodes: number[], data?: Uint8Array): eraftpb.Snapshot {
  return eraftpb.Snapshot({
    data: data ?? new Uint8Array(0),
    metadata: eraftpb.SnapshotMetadata({ index, term, confState: eraftpb.ConfState({ nodes: [...nodes] }) }),
  });
}

/** A MsgSnapshot from `from` to `to` in `term`. */
export function snapshotMsg(from: number, to: number, term: number, snap: eraftpb.Snapshot): Message {
  return eraftpb.Message({ msgType: MessageType.MsgSnapshot, from, to, term, snapshot: snap });
}

/**
 * A MemoryStorage whose snapshot() reports "temporarily unavailable" until `ready` is set, like a
 * raftstore that generates snapshots in the background.
 */
export class SlowSnapshotStorage extends MemoryStorage {
  ready = false;
  requests = 0;

  override snapshot(): eraftpb.Snapshot {
    this.requests++;
    if (!this.ready) throw new SnapshotTemporarilyUnavailableError('the test storage is still generating the snapshot');
    return super.snapshot();
  }
}

/**
 * Plays the application of a Raft driven without RawNode: persists the snapshot raft is waiting on, then
 * tells raft it is applied (what RawNode.advance does for a Ready holding it).
 */
export function applyPendingSnapshot(r: Raft, storage: MemoryStorage): void {
  const snap = r.raftLog.pendingSnapshot;
  if (!snap) throw new Error(`node ${r.id} has no pending snapshot`);
  storage.applySnapshot(snap);
  r.raftLog.pendingSnapshot = undefined;
}
