/**
 * Fewer raft messages per Ready: appends to one follower that continue each other are sent as one.
 *
 * A leader sends a follower an append for every proposal (and for every answer that shows it is behind), so
 * a Ready that gathered many commands (the real runtime under load) holds many small appends to each
 * follower: A carries entries 11-12 after index 10, B carries entry 13 after index 12, and so on. The
 * follower would take them one by one, persist, and answer each. Sent as one append (entries 11-13 after 10,
 * the higher commit), it does the same work once. Only an append that starts exactly where the previous
 * message to the same follower ended, in the same term, is merged; anything else is left as it is and in
 * its place, so what each follower receives, and in what order, means the same as before.
 */
import { eraftpb } from '#proto';

type Message = eraftpb.Message;

/** `b` continues `a`: both appends of one term from one leader to one follower, b's entries right after a's. */
function continues(a: Message, b: Message): boolean {
  if (a.msgType !== eraftpb.MessageType.MsgAppend || b.msgType !== eraftpb.MessageType.MsgAppend) return false;
  if (a.to !== b.to || a.from !== b.from || a.term !== b.term) return false;
  const aLast = a.entries.length > 0 ? a.entries[a.entries.length - 1]! : undefined;
  const aLastIndex = aLast?.index ?? a.index;
  const aLastTerm = aLast?.term ?? a.logTerm;
  return b.index === aLastIndex && b.logTerm === aLastTerm;
}

/**
 * The messages with each run of continuing appends to a follower merged into its first append. Messages to
 * different peers keep their relative order only per peer (they travel on different connections anyway).
 */
export function mergeAppends(messages: readonly Message[]): Message[] {
  const out: Message[] = [];
  /** Where the last message to each peer sits in `out`. */
  const lastTo = new Map<number, number>();
  for (const m of messages) {
    const at = lastTo.get(m.to);
    const previous = at === undefined ? undefined : out[at]!;
    if (previous !== undefined && continues(previous, m)) {
      out[at!] = { ...previous, entries: [...previous.entries, ...m.entries], commit: Math.max(previous.commit, m.commit) };
      continue;
    }
    lastTo.set(m.to, out.length);
    out.push(m);
  }
  return out;
}
