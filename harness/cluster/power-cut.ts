/**
 * Power cuts at a precise point: "store S loses power just before its next raft-engine write", or before
 * the n-th write of either engine (the write-boundary sweeps, write-boundaries.ts).
 *
 *   const cut = cutPowerBeforeRaftWrite(sim, 2, cluster.engines(2)!, { when: (batch) => batch.count > 1 });
 *   const cut = cutPowerBeforeWrite(sim, 2, cluster.engines(2)!, { engine: 'kv', when: () => ++n === 7 });
 *   ... drive the cluster ...
 *   await sim.waitUntil('the power cut', () => cut.fired, { timeoutMs: 5000 });
 *
 * A crash between two events (sim.crash from the test) only ever shows a store whose handling of a Ready ran
 * to its end. The bugs of Ready ordering (messages sent, or entries applied, before the log and hard state
 * are written; an apply state written apart from its data) show up only when the power goes in the middle
 * of that handling. So the engines' writes are wrapped: the matching write is refused, and the store is
 * crashed from inside its own event at that point (what it sent before is on the wire, what it wrote before
 * is on disk, the write itself is lost). The rest of that event still runs (JavaScript cannot stop it), so
 * every later write to these engines is refused too: the disk has no power.
 *
 * The wrapper lives on this one Engines object: it fires at most once, and a restarted store opens fresh
 * engines without it. Arm it once the store is running, so that the writes it sees come from the store's
 * own events (a crash from another actor is not a power cut in the middle of the store's work).
 */
import type { Engine, WriteBatch } from '@impl/kv/storage/engine.ts';
import type { Engines } from '@impl/kv/raftstore/engines.ts';
import type { Sim } from '../sim/index.ts';

export type EngineName = 'raft' | 'kv';

export interface PowerCutOptions {
  /** Which engine's writes may be cut (default: both). */
  engine?: EngineName | 'both';
  /**
   * Cut only before a write for which this holds (default: the very next write). Asked once per non-empty
   * write of the chosen engines, in order, until the cut fires.
   */
  when?: (batch: WriteBatch, engine: EngineName) => boolean;
  /** Why, for the trace (default: "before a <engine> engine write"). */
  reason?: string;
}

/** The armed power cut of one store. */
export interface PowerCut {
  /** True once the power was cut. */
  readonly fired: boolean;
  /** Stop waiting: later writes go through untouched (does nothing once fired). */
  disarm(): void;
}

/** Thrown to the store's code in place of a write that never happened. */
class PowerCutError extends Error {
  constructor(storeId: number, engine: EngineName) {
    super(`store ${storeId} lost power before this ${engine} engine write`);
    this.name = 'PowerCutError';
  }
}

/**
 * Arm a power cut of store `storeId` (a node of `sim` running on `engines`): before the first write of the
 * chosen engines matching `options.when`, the store crashes mid-event and the write is refused, as is every
 * write to these engines after it.
 */
export function cutPowerBeforeWrite(sim: Sim, storeId: number, engines: Engines, options: PowerCutOptions = {}): PowerCut {
  const which = options.engine ?? 'both';
  let armed = true;
  let fired = false;

  const wrap = (engine: Engine, name: EngineName) => {
    const originalWrite = engine.write.bind(engine);
    engine.write = (batch: WriteBatch): Promise<void> => {
      if (fired) return Promise.reject(new PowerCutError(storeId, name));
      const eligible = armed && (which === 'both' || which === name) && batch.count > 0;
      if (!eligible || !(options.when?.(batch, name) ?? true)) return originalWrite(batch);
      armed = false;
      fired = true;
      sim.note(`power cut of s${storeId}: ${options.reason ?? `before a ${name} engine write`} (${batch.count} operations lost)`);
      // Called from the store's own event, sim.crash cuts the power right here (SimNodes.crashInEvent in sim/nodes.ts).
      void sim.crash(storeId);
      return Promise.reject(new PowerCutError(storeId, name));
    };
  };
  wrap(engines.raft, 'raft');
  wrap(engines.kv, 'kv');

  return {
    get fired() {
      return fired;
    },
    disarm() {
      armed = false;
    },
  };
}

/** A power cut before the first raft-engine write matching `options.when` (see cutPowerBeforeWrite). */
export function cutPowerBeforeRaftWrite(
  sim: Sim,
  storeId: number,
  engines: Engines,
  options: Omit<PowerCutOptions, 'engine' | 'when'> & { when?: (batch: WriteBatch) => boolean } = {},
): PowerCut {
  return cutPowerBeforeWrite(sim, storeId, engines, {
    engine: 'raft',
    when: options.when,
    reason: options.reason ?? 'before a raft engine write',
  });
}
