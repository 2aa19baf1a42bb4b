/**
 * More helpers for the 2AC, 2C and 3A raft suites: handling a RawNode's Ready like an application would,
 * building snapshots and conf change entries, and a storage whose snapshot is not ready yet.
 */
import { eraftpb } from '#proto';
import { decode, encode } from '#proto/codec.ts';
import type { RawNode, Ready } from '@impl/raft/rawnode.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import { SnapshotTemporarilyUnavailableError } from '@impl/raft/errors.ts';
import type { Raft } from '@impl/raft/raft.ts';

const { MessageType, EntryType, ConfChangeType } = eraftpb;
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

export function confChange(changeType: eraftpb.ConfChangeType, nodeId: number): eraftpb.ConfChange {
  return eraftpb.ConfChange({ changeType, nodeId });
}

export const addNodeCC = (id: number): eraftpb.ConfChange => confChange(ConfChangeType.AddNode, id);
export const removeNodeCC = (id: number): eraftpb.ConfChange => confChange(ConfChangeType.RemoveNode, id);

export function encodeConfChange(cc: eraftpb.ConfChange): Uint8Array {
  return encode('eraftpb.ConfChange', cc);
}

export function decodeConfChange(data: Uint8Array): eraftpb.ConfChange {
  return decode('eraftpb.ConfChange', data);
}

/** A proposal of one conf change entry, stepped into `to`. */
export function proposeConfChangeMsg(to: number, cc: eraftpb.ConfChange): Message {
  return eraftpb.Message({
    msgType: MessageType.MsgPropose,
    from: to,
    to,
    entries: [eraftpb.Entry({ entryType: EntryType.EntryConfChange, data: encodeConfChange(cc) })],
  });
}

/** MsgTransferLeader asking `leader` (or a follower that forwards it) to hand leadership to `transferee`. */
export function transferMsg(transferee: number, to: number): Message {
  return eraftpb.Message({ msgType: MessageType.MsgTransferLeader, from: transferee, to });
}

/** Equality of byte arrays, whatever their concrete class (Buffer or Uint8Array). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export function text(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
}

/** The entries of a raft's log whose type is EntryConfChange. */
export function confChangeEntries(r: Raft): eraftpb.Entry[] {
  return r.raftLog.entries.filter((e) => e.entryType === EntryType.EntryConfChange);
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
