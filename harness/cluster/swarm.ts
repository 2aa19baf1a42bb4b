/**
 * Swarm mode (SWARM=1): each run of a GenericTest scenario also draws its fault parameters from its seed,
 * within bounds per scenario, instead of using TinyKV's fixed ones. Different runs then stress different
 * corners (a high drop rate with long latencies, frequent partitions, a tiny log limit that forces a snapshot
 * every few entries...), which finds some bugs in far fewer runs than one fixed mix (swarm testing, as in
 * Groce et al. and FoundationDB's simulator). Only faults the scenario has are varied: a reliable scenario
 * stays reliable, a scenario without snapshots keeps its log limit. The same seed draws the same
 * parameters, so `SEED=<n> SWARM=1` replays a run exactly; the drawn values are printed and noted in the trace.
 */
import { SeededRandom } from '@impl/util/prng.ts';

/** What GenericTest varies in swarm mode. */
export interface SwarmParameters {
  /** Drop probability of raft requests and replies in unreliable rounds. */
  dropRate: number;
  /** One-way network latency range, virtual ms. */
  minLatencyMs: number;
  maxLatencyMs: number;
  /** Probability that a message is held back (reordered), and by up to how long. */
  reorderProbability: number;
  reorderExtraMs: number;
  /** How long each partition lasts, as a multiple of the election timeout (plus up to 200 ms, as always). */
  partitionEveryElections: number;
  /** How long every store stays down in a crash round, virtual ms. */
  downMs: number;
  /** Raft log GC count limit (scenarios with snapshots). */
  maxraftlog: number;
  clients: number;
  /** Split thresholds (scenarios with splits). */
  regionMaxSize: number;
  regionSplitSize: number;
}

/** What a scenario fixes before swarm mode draws around it. */
export interface SwarmScenario {
  nclients: number;
  unreliable: boolean;
  partitions: boolean;
  /** -1: no snapshots. */
  maxraftlog: number;
  split: boolean;
  electionTimeoutMs: number;
}

/** Is swarm mode on (SWARM=1 in the environment, read when the test runs)? The replay commands ask too. */
export { swarmEnabled } from '../sim/report.ts';

function between(random: SeededRandom, lo: number, hi: number): number {
  return lo + random.nextFloat() * (hi - lo);
}

function intBetween(random: SeededRandom, lo: number, hi: number): number {
  return lo + random.nextInt(hi - lo + 1);
}

/** The fault parameters of the run with `seed`: a stream of its own, so the run's other draws do not move. */
export function drawSwarm(seed: number, s: SwarmScenario): SwarmParameters {
  const random = new SeededRandom((seed ^ 0x5a4d_7a11) >>> 0);
  const minLatencyMs = intBetween(random, 1, 20);
  const maxLatencyMs = minLatencyMs + intBetween(random, 2, 60);
  const regionMaxSize = intBetween(random, 150, 900);
  return {
    dropRate: s.unreliable ? Math.round(between(random, 0.02, 0.3) * 1000) / 1000 : 0,
    minLatencyMs,
    maxLatencyMs,
    reorderProbability: Math.round(between(random, 0, 0.2) * 1000) / 1000,
    reorderExtraMs: intBetween(random, 10, 300),
    partitionEveryElections: s.partitions ? Math.round(between(random, 0.3, 3) * 100) / 100 : 1,
    downMs: intBetween(random, 0, 2 * s.electionTimeoutMs),
    maxraftlog: s.maxraftlog > 0 ? intBetween(random, Math.max(5, Math.floor(s.maxraftlog / 10)), s.maxraftlog) : s.maxraftlog,
    clients: intBetween(random, Math.max(1, Math.floor(s.nclients / 2)), Math.max(2, Math.min(40, 2 * s.nclients))),
    regionMaxSize: s.split ? regionMaxSize : 0,
    regionSplitSize: s.split ? Math.floor((regionMaxSize * 2) / 3) : 0,
  };
}

/** One line for the test's output and trace. */
export function describeSwarm(p: SwarmParameters, s: Omit<SwarmScenario, 'electionTimeoutMs' | 'nclients'>): string {
  const parts = [`${p.clients} clients`, `latency ${p.minLatencyMs}-${p.maxLatencyMs} ms`, `reorder ${p.reorderProbability} (+${p.reorderExtraMs} ms)`, `stores down ${p.downMs} ms when crashed`];
  if (s.unreliable) parts.push(`drop ${p.dropRate}`);
  if (s.partitions) parts.push(`a partition every ${p.partitionEveryElections} election timeouts`);
  if (s.maxraftlog > 0) parts.push(`maxraftlog ${p.maxraftlog}`);
  if (s.split) parts.push(`split past ${p.regionMaxSize} bytes at ${p.regionSplitSize}`);
  return `swarm: ${parts.join(', ')}`;
}
