/**
 * Conf changes and leader transfer for the raft suites: conf change entries and proposals, their wire form,
 * and the leader transfer message.
 */
import { eraftpb } from '#proto';
import { decode, encode } from '#proto/codec.ts';
import type { Raft } from '@impl/raft/raft.ts';

const { MessageType, EntryType, ConfChangeType } = eraftpb;
type Message = eraftpb.Message;

function confChange(changeType: eraftpb.ConfChangeType, nodeId: number): eraftpb.ConfChange {
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

/** The entries of a raft's log whose type is EntryConfChange. */
export function confChangeEntries(r: Raft): eraftpb.Entry[] {
  return r.raftLog.entries.filter((e) => e.entryType === EntryType.EntryConfChange);
}
