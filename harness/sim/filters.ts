/**
 * Ready-made network filters. Add them with network.addFilter(...); several filters compose (a message is
 * dropped if any of them drops it) and each can be removed on its own.
 */
import type { RandomSource } from '@impl/util/prng.ts';
import { SimUsageError } from './errors.ts';
import type { Envelope, Filter } from './network.ts';

export interface DropRates {
  /** Drop rate for messages the network classifies as requests (default: `rate`). */
  requests?: number;
  /** Drop rate for replies (default: `rate`). */
  replies?: number;
  /** Drop rate for everything else, and the default for the two above (default 0). */
  rate?: number;
}

/**
 * Drop messages at random, with separate rates for requests and replies. Each message costs one draw from
 * the network's seeded stream (none when its rate is 0), so the losses replay with the seed.
 */
export function dropRandomly<M>(rates: DropRates, name?: string): Filter<M> {
  const base = checkRate('rate', rates.rate ?? 0);
  const requests = checkRate('requests', rates.requests ?? base);
  const replies = checkRate('replies', rates.replies ?? base);
  return {
    name: name ?? `drop(requests ${requests}, replies ${replies}, other ${base})`,
    drop(envelope, random) {
      const rate = envelope.kind === 'request' ? requests : envelope.kind === 'reply' ? replies : base;
      return rate > 0 && random.nextFloat() < rate;
    },
  };
}

/** Cut the network in two: messages between a node of `sideA` and a node of `sideB` are dropped. */
export function partition<M>(sideA: readonly number[], sideB: readonly number[]): Filter<M> {
  const a = new Set(sideA);
  const b = new Set(sideB);
  for (const id of a) {
    if (b.has(id)) throw new SimUsageError(`node ${id} cannot be on both sides of a partition`);
  }
  return {
    name: `partition [${[...a].join(',')}] | [${[...b].join(',')}]`,
    drop: ({ from, to }) => (a.has(from) && b.has(to)) || (b.has(from) && a.has(to)),
  };
}

/**
 * Split `ids` at random into two non-empty sides (for a partition chosen afresh each chaos round).
 * Draws from `random`, so the split replays with the seed.
 */
export function randomSplit(ids: readonly number[], random: RandomSource): [number[], number[]] {
  if (ids.length < 2) throw new SimUsageError(`a split needs at least two nodes, got ${ids.length}`);
  const shuffled = [...ids];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const cut = 1 + random.nextInt(shuffled.length - 1);
  const byId = (a: number, b: number) => a - b;
  return [shuffled.slice(0, cut).sort(byId), shuffled.slice(cut).sort(byId)];
}

/** Cut node `id` off from everyone: all its messages, in and out, are dropped. */
export function isolate<M>(id: number): Filter<M> {
  return { name: `isolate ${id}`, drop: ({ from, to }) => from === id || to === id };
}

/** Drop every message matching `predicate` (by message type, region, store...). */
export function dropWhere<M>(name: string, predicate: (envelope: Envelope<M>) => boolean): Filter<M> {
  return { name, drop: (envelope) => predicate(envelope) };
}

/** Restrict `filter` to messages matching `predicate` (e.g. random drops only for one region's messages). */
export function onlyWhen<M>(predicate: (envelope: Envelope<M>) => boolean, filter: Filter<M>): Filter<M> {
  return {
    name: `${filter.name} when ${predicate.name || 'matching'}`,
    drop: (envelope, random) => predicate(envelope) && filter.drop(envelope, random),
  };
}

function checkRate(what: string, rate: number): number {
  if (!(typeof rate === 'number' && rate >= 0 && rate <= 1)) {
    throw new SimUsageError(`drop rate "${what}" must be a probability in [0, 1], got ${rate}`);
  }
  return rate;
}
