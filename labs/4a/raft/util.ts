/** Small helpers shared by the raft modules and their users. */
import { eraftpb } from '#proto';
import type { SoftState } from './raft.ts';

const { MessageType } = eraftpb;

/** Messages a node hands to itself; they must never arrive from the network. */
export function isLocalMsg(t: eraftpb.MessageType): boolean {
  return t === MessageType.MsgHup || t === MessageType.MsgBeat;
}

/** Answers to a request; they only make sense from a member. */
export function isResponseMsg(t: eraftpb.MessageType): boolean {
  return (
    t === MessageType.MsgAppendResponse ||
    t === MessageType.MsgRequestVoteResponse ||
    t === MessageType.MsgHeartbeatResponse
  );
}

export function isHardStateEqual(a: eraftpb.HardState, b: eraftpb.HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function isSoftStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}

/** True when `snap` is absent or carries no snapshot (index 0). */
export function isEmptySnap(snap: eraftpb.Snapshot | undefined): boolean {
  return !snap?.metadata || snap.metadata.index === 0;
}
