/**
 * Power cuts at a precise point: "store S loses power just before its next raft-engine write".
 *
 *   const cut = cutPowerBeforeRaftWrite(sim, 2, cluster.engines(2)!, { when: (batch) => batch.count > 1 });
 *   ... drive the cluster ...
 *   await sim.waitUntil('the power cut', () => cut.fired, { timeoutMs: 5000 });
 *
 * A crash between two events (sim.crash from the test) only ever shows a store whose handling of a Ready ran
 * to its end. The bugs of Ready ordering (messages sent, or entries applied, before the log and hard state
 * are written) show up only when the power goes in the middle of that handling. So the raft engine's write
 * is wrapped: the matching write is refused, and the store is crashed from inside its own event at that
 * point (what it sent before is on the wire, what it applied before is on disk, the write itself is lost).
 *
 * The wrapper lives on this one Engines object: it fires at most once, and a restarted store opens fresh
 * engines without it. Arm it once the store is running, so that the writes it sees come from the store's
 * own events (a crash from another actor is not a power cut in the middle of the store's work).
 */
import type { WriteBatch } from '@impl/kv/storage/engine.ts';
import type { Engines } from '@impl/kv/raftstore/engines.ts';
import type { Sim } from '../sim/index.ts';

export interface PowerCutOptions {
  /** Cut only before a write for which this holds (default: the very next write). */
  when?: (batch: WriteBatch) => boolean;
  /** Why, for the trace (default: "before a raft engine write"). */
  reason?: string;
}

/** The armed power cut of one store. */
export interface PowerCut {
  /** True once the power was cut. */
  readonly fired: boolean;
  /** Stop waiting: later writes go through untouched (does nothing once fired). */
  disarm(): void;
}

/** Thrown to the store's code in place of the write that never happened. */
class PowerCutError extends Error {
  constructor(storeId: number) {
    super(`store ${storeId} lost power before this raft engine write`);
    this.name = 'PowerCutError';
  }
}

/**
 * Arm a power cut of store `storeId` (a node of `sim` running on `engines`): before the first raft-engine
 * write matching `options.when`, the store crashes mid-event and the write is refused.
 */
export function cutPowerBeforeRaftWrite(sim: Sim, storeId: number, engines: Engines, options: PowerCutOptions = {}): PowerCut {
  const raft = engines.raft;
  const originalWrite = raft.write.bind(raft);
  const reason = options.reason ?? 'before a raft engine write';
  let armed = true;
  let fired = false;

  raft.write = (batch: WriteBatch): Promise<void> => {
    if (!armed || !(options.when?.(batch) ?? true)) return originalWrite(batch);
    armed = false;
    fired = true;
    sim.note(`power cut of s${storeId}: ${reason} (${batch.count} operations lost)`);
    // Called from the store's own event, sim.crash cuts the power right here (SimNodes.crashInEvent in sim/nodes.ts).
    void sim.crash(storeId);
    return Promise.reject(new PowerCutError(storeId));
  };

  return {
    get fired() {
      return fired;
    },
    disarm() {
      armed = false;
    },
  };
}
