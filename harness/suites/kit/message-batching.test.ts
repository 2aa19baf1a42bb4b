// The raftstore's merging of appends within one Ready (reference/kv/raftstore/message-batching.ts): appends
// that continue each other to one follower become one; everything else is left alone, in its place.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { eraftpb } from '#proto';
import { mergeAppends } from '@impl/kv/raftstore/message-batching.ts';

const { MsgAppend, MsgHeartbeat } = eraftpb.MessageType;

function entries(from: number, to: number, term = 2): eraftpb.Entry[] {
  const out: eraftpb.Entry[] = [];
  for (let i = from; i <= to; i++) out.push(eraftpb.Entry({ index: i, term, data: new Uint8Array([i]) }));
  return out;
}

function append(to: number, prevIndex: number, prevTerm: number, ents: eraftpb.Entry[], commit = 0, term = 2): eraftpb.Message {
  return eraftpb.Message({ msgType: MsgAppend, from: 1, to, term, index: prevIndex, logTerm: prevTerm, entries: ents, commit });
}

describe('kit: appends merged within a Ready', () => {
  test('appends that continue each other to one follower become one, with the higher commit', () => {
    const out = mergeAppends([append(2, 10, 2, entries(11, 12), 9), append(2, 12, 2, entries(13, 13), 11), append(2, 13, 2, [], 13)]);
    expect(out).toHaveLength(1);
    expect(out[0]!.index).toBe(10);
    expect(out[0]!.entries.map((e) => e.index)).toEqual([11, 12, 13]);
    expect(out[0]!.commit).toBe(13);
  });

  test('followers are merged apart; a message between two appends to a follower keeps them apart', () => {
    const out = mergeAppends([
      append(2, 10, 2, entries(11, 11)),
      append(3, 10, 2, entries(11, 11)),
      eraftpb.Message({ msgType: MsgHeartbeat, from: 1, to: 2, term: 2 }),
      append(2, 11, 2, entries(12, 12)),
      append(3, 11, 2, entries(12, 12)),
    ]);
    expect(out.map((m) => `${eraftpb.MessageType[m.msgType]}->${m.to}:${m.entries.map((e) => e.index).join(',')}`)).toEqual([
      'MsgAppend->2:11',
      'MsgAppend->3:11,12',
      'MsgHeartbeat->2:',
      'MsgAppend->2:12',
    ]);
  });

  test('appends that do not continue each other (a gap, a resend, another term) are left as they are', () => {
    const gap = [append(2, 10, 2, entries(11, 11)), append(2, 12, 2, entries(13, 13))];
    const resend = [append(2, 10, 2, entries(11, 12)), append(2, 10, 2, entries(11, 13))];
    const otherTerm = [append(2, 10, 2, entries(11, 11), 0, 2), append(2, 11, 2, entries(12, 12, 3), 0, 3)];
    const wrongPrevTerm = [append(2, 10, 2, entries(11, 11)), append(2, 11, 1, entries(12, 12))];
    for (const msgs of [gap, resend, otherTerm, wrongPrevTerm]) expect(mergeAppends(msgs)).toEqual(msgs);
  });

  test('property: each follower gets the same entries, in the same order, and the same other messages', () => {
    // A random Ready: per message a follower (2..4), and either a heartbeat or an append continuing that
    // follower's last append (or restarting at an earlier index, a resend).
    const step = fc.record({ to: fc.integer({ min: 2, max: 4 }), kind: fc.constantFrom('append', 'append', 'append', 'resend', 'heartbeat'), count: fc.integer({ min: 0, max: 3 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const last = new Map<number, number>();
        const msgs = steps.map(({ to, kind, count }) => {
          if (kind === 'heartbeat') return eraftpb.Message({ msgType: MsgHeartbeat, from: 1, to, term: 2 });
          const prev = kind === 'resend' ? Math.max(0, (last.get(to) ?? 0) - 1) : (last.get(to) ?? 0);
          last.set(to, prev + count);
          return append(to, prev, prev === 0 ? 0 : 2, entries(prev + 1, prev + count));
        });
        const out = mergeAppends(msgs);
        for (const to of [2, 3, 4]) {
          const view = (list: eraftpb.Message[]) => {
            // What the follower sees: its heartbeats and entries in order (a merged run gives the same entries).
            const seen: string[] = [];
            for (const m of list.filter((x) => x.to === to)) {
              if (m.msgType === MsgHeartbeat) seen.push('hb');
              else seen.push(...m.entries.map((e) => `e${e.index}`));
            }
            return seen;
          };
          expect(view(out)).toEqual(view(msgs));
        }
        // Every append still reads as one: its entries follow its index without a gap or a repeat.
        for (const m of out) expect(m.entries.map((e) => e.index)).toEqual(m.entries.map((_, k) => m.index + 1 + k));
        expect(out.length).toBeLessThanOrEqual(msgs.length);
      }),
      { numRuns: 300, seed: 17 },
    );
  });
});
