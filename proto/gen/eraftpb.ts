// Placeholder written by hand until proto/codegen.ts generates this file from proto/eraftpb.proto.
// The generated file must keep exactly these exported names and shapes.

export enum EntryType {
  EntryNormal = 0,
  EntryConfChange = 1,
}

export interface Entry {
  entryType: EntryType;
  term: number;
  index: number;
  data: Uint8Array;
}
export function Entry(init: Partial<Entry> = {}): Entry {
  return { entryType: EntryType.EntryNormal, term: 0, index: 0, data: new Uint8Array(0), ...init };
}

export interface ConfState {
  nodes: number[];
}
export function ConfState(init: Partial<ConfState> = {}): ConfState {
  return { nodes: [], ...init };
}

export interface SnapshotMetadata {
  confState?: ConfState;
  index: number;
  term: number;
}
export function SnapshotMetadata(init: Partial<SnapshotMetadata> = {}): SnapshotMetadata {
  return { confState: undefined, index: 0, term: 0, ...init };
}

export interface Snapshot {
  data: Uint8Array;
  metadata?: SnapshotMetadata;
}
export function Snapshot(init: Partial<Snapshot> = {}): Snapshot {
  return { data: new Uint8Array(0), metadata: undefined, ...init };
}

export enum MessageType {
  MsgHup = 0,
  MsgBeat = 1,
  MsgPropose = 2,
  MsgAppend = 3,
  MsgAppendResponse = 4,
  MsgRequestVote = 5,
  MsgRequestVoteResponse = 6,
  MsgSnapshot = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResponse = 9,
  MsgTransferLeader = 11,
  MsgTimeoutNow = 12,
}

export interface Message {
  msgType: MessageType;
  to: number;
  from: number;
  term: number;
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
}
export function Message(init: Partial<Message> = {}): Message {
  return {
    msgType: MessageType.MsgHup, to: 0, from: 0, term: 0, logTerm: 0, index: 0,
    entries: [], commit: 0, snapshot: undefined, reject: false, ...init,
  };
}

export interface HardState {
  term: number;
  vote: number;
  commit: number;
}
export function HardState(init: Partial<HardState> = {}): HardState {
  return { term: 0, vote: 0, commit: 0, ...init };
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
}

export interface ConfChange {
  changeType: ConfChangeType;
  nodeId: number;
  context: Uint8Array;
}
export function ConfChange(init: Partial<ConfChange> = {}): ConfChange {
  return { changeType: ConfChangeType.AddNode, nodeId: 0, context: new Uint8Array(0), ...init };
}
