/**
 * Raft log GC: deleting the raft engine keys of entries that a CompactLog (or a snapshot) has truncated.
 * It runs as a background task: the entries are already gone from memory and from the truncated state,
 * their keys are only garbage, so a long deletion never holds up the store.
 */
import { WriteBatch, type Engine } from '../storage/engine.ts';
import { raftLogKey } from './keys.ts';

/**
 * Deletes every log entry of region `regionId` with index in [start, end) that is still on disk. Returns how
 * many keys were deleted.
 */
export async function gcRaftLog(raft: Engine, regionId: number, start: number, end: number): Promise<number> {
  if (start >= end) return 0;
  const wb = new WriteBatch();
  const it = raft.iterMeta({ end: raftLogKey(regionId, end) });
  try {
    for (await it.seek(raftLogKey(regionId, start)); it.valid(); await it.next()) {
      wb.deleteMeta(Uint8Array.from(it.item().key));
    }
  } finally {
    await it.close();
  }
  const deleted = wb.count;
  if (deleted > 0) await raft.write(wb);
  return deleted;
}
