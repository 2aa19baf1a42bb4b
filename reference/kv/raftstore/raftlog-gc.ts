/**
 * Raft log GC: deleting the raft engine keys of entries that a CompactLog has truncated. It runs as a
 * background task (the entries are already gone from memory and from the truncated state; their keys are
 * only garbage), so a long deletion never holds up the store.
 */
import { WriteBatch, type Engine } from '../storage/engine.ts';
import { raftLogIndex, raftLogKey } from './keys.ts';

/**
 * Deletes the log entries [start, end) of region `regionId`; with start 0, from the first entry found on
 * disk. Returns how many keys were deleted.
 */
export async function gcRaftLog(raft: Engine, regionId: number, start: number, end: number): Promise<number> {
  let first = start;
  if (first === 0) {
    first = end;
    const it = raft.iterMeta({ end: raftLogKey(regionId, end) });
    try {
      await it.seek(raftLogKey(regionId, 0));
      if (it.valid()) first = raftLogIndex(it.item().key);
    } finally {
      await it.close();
    }
  }
  if (first >= end) return 0;
  const wb = new WriteBatch();
  for (let i = first; i < end; i++) wb.deleteMeta(raftLogKey(regionId, i));
  await raft.write(wb);
  return end - first;
}
