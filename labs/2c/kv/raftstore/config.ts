/**
 * The raftstore's settings. Durations are milliseconds of the runtime's clock (virtual in the simulation).
 */

export interface RaftstoreConfig {
  /** One raft tick. */
  raftBaseTickIntervalMs: number;
  /** Ticks between a leader's heartbeats. */
  raftHeartbeatTicks: number;
  /** Ticks before a follower without news from a leader campaigns (the base of the randomized timeout). */
  raftElectionTimeoutTicks: number;
  /** How often a leader checks whether its log should be compacted. */
  raftLogGcTickIntervalMs: number;
  /** Propose a CompactLog once this many applied entries sit in the log ("max raft log"). */
  raftLogGcCountLimit: number;
  /** How often a leader checks whether its region has grown past regionMaxSize (3B). */
  splitRegionCheckTickIntervalMs: number;
  /** A region bigger than this (bytes, approximate) is split (3B). */
  regionMaxSize: number;
  /** The size of the left part of a split (3B). */
  regionSplitSize: number;
  /** How often a leader tells the scheduler about its region. */
  schedulerHeartbeatTickIntervalMs: number;
  /** How often the store tells the scheduler about itself. */
  schedulerStoreHeartbeatTickIntervalMs: number;
}

const MB = 1024 * 1024;

/** Settings for a real server (TinyKV's defaults). */
export function defaultConfig(): RaftstoreConfig {
  return {
    raftBaseTickIntervalMs: 1000,
    raftHeartbeatTicks: 2,
    raftElectionTimeoutTicks: 10,
    raftLogGcTickIntervalMs: 10_000,
    raftLogGcCountLimit: 128_000,
    splitRegionCheckTickIntervalMs: 10_000,
    regionMaxSize: 144 * MB,
    regionSplitSize: 96 * MB,
    schedulerHeartbeatTickIntervalMs: 10_000,
    schedulerStoreHeartbeatTickIntervalMs: 10_000,
  };
}

/** TinyKV's test settings: fast ticks so elections and heartbeats take little (virtual) time. */
export function testConfig(): RaftstoreConfig {
  return {
    raftBaseTickIntervalMs: 50,
    raftHeartbeatTicks: 2,
    raftElectionTimeoutTicks: 10,
    raftLogGcTickIntervalMs: 50,
    raftLogGcCountLimit: 128_000,
    splitRegionCheckTickIntervalMs: 100,
    regionMaxSize: 144 * MB,
    regionSplitSize: 96 * MB,
    schedulerHeartbeatTickIntervalMs: 100,
    schedulerStoreHeartbeatTickIntervalMs: 500,
  };
}

export class RaftstoreConfigError extends Error {
  constructor(message: string) {
    super(`raftstore config: ${message}`);
    this.name = 'RaftstoreConfigError';
  }
}

/** Throws RaftstoreConfigError naming the first bad setting. */
export function validateConfig(c: RaftstoreConfig): void {
  const positive: (keyof RaftstoreConfig)[] = [
    'raftBaseTickIntervalMs',
    'raftHeartbeatTicks',
    'raftElectionTimeoutTicks',
    'raftLogGcTickIntervalMs',
    'raftLogGcCountLimit',
    'splitRegionCheckTickIntervalMs',
    'regionMaxSize',
    'regionSplitSize',
    'schedulerHeartbeatTickIntervalMs',
    'schedulerStoreHeartbeatTickIntervalMs',
  ];
  for (const name of positive) {
    const value = c[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new RaftstoreConfigError(`${name} must be a positive number, got ${String(value)}`);
    }
  }
  if (!Number.isInteger(c.raftHeartbeatTicks) || !Number.isInteger(c.raftElectionTimeoutTicks)) {
    throw new RaftstoreConfigError('raftHeartbeatTicks and raftElectionTimeoutTicks must be integers');
  }
  if (c.raftElectionTimeoutTicks <= c.raftHeartbeatTicks) {
    throw new RaftstoreConfigError(
      `raftElectionTimeoutTicks (${c.raftElectionTimeoutTicks}) must be greater than raftHeartbeatTicks (${c.raftHeartbeatTicks})`,
    );
  }
  if (c.regionSplitSize > c.regionMaxSize) {
    throw new RaftstoreConfigError(`regionSplitSize (${c.regionSplitSize}) must not exceed regionMaxSize (${c.regionMaxSize})`);
  }
}
