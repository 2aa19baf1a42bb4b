/**
 * A store's two engines, as in TinyKV: `kv` holds user data (column families) plus each region's apply
 * and region state; `raft` holds each region's raft log and raft state.
 */
import path from 'node:path';
import { Engine, type EngineOptions } from '../storage/engine.ts';

export interface Engines {
  kv: Engine;
  raft: Engine;
}

/** Open (creating if needed) the engines of a store kept in `dir`: `dir/kv` and `dir/raft`. */
export async function openEngines(dir: string, options: EngineOptions = {}): Promise<Engines> {
  const kv = await Engine.open(path.join(dir, 'kv'), options);
  try {
    const raft = await Engine.open(path.join(dir, 'raft'), options);
    return { kv, raft };
  } catch (err) {
    await kv.close();
    throw err;
  }
}

/** Close both engines (waiting for queued writes). Safe to call twice. */
export async function closeEngines(e: Engines): Promise<void> {
  await Promise.all([e.kv.close(), e.raft.close()]);
}
