/**
 * The network between the cluster's stores: a SimNetwork of raft_serverpb.RaftMessage, plus the filters
 * TinyKV's cluster tests use (partition, isolate, random drops) and finer ones (by message type, region,
 * store).
 *
 * Every message is copied by an encode/decode round trip, so sender and receiver never share objects and
 * every message is proved to survive the wire format. Messages are classed as requests (MsgAppend,
 * MsgHeartbeat, MsgRequestVote, MsgSnapshot, MsgTransferLeader, MsgTimeoutNow, tombstones) or replies (the
 * three *Response types), so random drops can hit both, at rates of their own.
 */
import { decode, encode, eraftpb, raft_serverpb } from '#proto';
import { SimNetwork, dropWhere, type Envelope, type Filter, type MessageKind, type NetworkOptions, type Sim } from '../sim/index.ts';

export type RaftMessage = raft_serverpb.RaftMessage;

const { MessageType } = eraftpb;

const REPLY_TYPES: ReadonlySet<eraftpb.MessageType> = new Set([
  MessageType.MsgAppendResponse,
  MessageType.MsgRequestVoteResponse,
  MessageType.MsgHeartbeatResponse,
]);

/** Request or reply, by the raft message type. */
export function classifyRaftMessage(msg: RaftMessage): MessageKind {
  const inner = msg.message;
  if (inner === undefined) return 'request';
  return REPLY_TYPES.has(inner.msgType) ? 'reply' : 'request';
}

/** Short trace text: "r1 MsgAppend t3 i5 n2 c4" (region, type, term, index, entries, commit). */
export function describeRaftMessage(msg: RaftMessage): string {
  const m = msg.message;
  if (m === undefined) return `r${msg.regionId} ${msg.isTombstone ? 'tombstone' : 'empty'}`;
  const type = MessageType[m.msgType] ?? `type${m.msgType}`;
  let text = `r${msg.regionId} ${type} t${m.term}`;
  switch (m.msgType) {
    case MessageType.MsgAppend:
      text += ` i${m.index} n${m.entries.length} c${m.commit}`;
      break;
    case MessageType.MsgAppendResponse:
      text += ` i${m.index}${m.reject ? ' reject' : ''}`;
      break;
    case MessageType.MsgRequestVote:
      text += ` lt${m.logTerm} i${m.index}`;
      break;
    case MessageType.MsgRequestVoteResponse:
      text += m.reject ? ' reject' : ' grant';
      break;
    case MessageType.MsgSnapshot: {
      const meta = m.snapshot?.metadata;
      text += ` snap i${meta?.index ?? 0} t${meta?.term ?? 0} ${m.snapshot?.data.length ?? 0}B`;
      break;
    }
    case MessageType.MsgHeartbeat:
      text += ` c${m.commit}`;
      break;
    default:
      break;
  }
  if (msg.isTombstone) text += ' tombstone';
  return text;
}

/** The message as another process would receive it. */
export function copyRaftMessage(msg: RaftMessage): RaftMessage {
  return decode('raft_serverpb.RaftMessage', encode('raft_serverpb.RaftMessage', msg));
}

/** Counts of raft messages sent, by message type name (for tests that must see, say, a MsgSnapshot). */
export type MessageCounts = Map<string, number>;

/** The network the cluster uses; `counts` tallies every message a store sent (dropped or not). */
export function createRaftNetwork(
  sim: Sim,
  options: Pick<NetworkOptions<RaftMessage>, 'minLatencyMs' | 'maxLatencyMs' | 'reorderProbability' | 'reorderExtraMs'>,
  counts: MessageCounts,
): SimNetwork<RaftMessage> {
  return new SimNetwork<RaftMessage>(sim, {
    ...options,
    describe: describeRaftMessage,
    classify: (msg) => {
      const type = msg.message === undefined ? 'tombstone' : (MessageType[msg.message.msgType] ?? 'unknown');
      counts.set(type, (counts.get(type) ?? 0) + 1);
      return classifyRaftMessage(msg);
    },
    copy: copyRaftMessage,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Filters beyond the generic ones of harness/sim (partition, isolate, dropRandomly)

/** Drop every message of the given raft message types. */
export function dropMessageTypes(types: readonly eraftpb.MessageType[]): Filter<RaftMessage> {
  const set = new Set(types);
  const names = types.map((t) => MessageType[t] ?? String(t)).join(',');
  return dropWhere(`drop types ${names}`, ({ msg }: Envelope<RaftMessage>) => msg.message !== undefined && set.has(msg.message.msgType));
}

/** Drop every message of region `regionId`. */
export function dropRegion(regionId: number): Filter<RaftMessage> {
  return dropWhere(`drop region ${regionId}`, ({ msg }: Envelope<RaftMessage>) => msg.regionId === regionId);
}

/** Drop messages from store `from` to store `to` (one direction only). */
export function dropOneWay(from: number, to: number): Filter<RaftMessage> {
  return dropWhere(`drop ${from}->${to}`, (env: Envelope<RaftMessage>) => env.from === from && env.to === to);
}
