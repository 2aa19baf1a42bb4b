/**
 * Errors of the test cluster. Each says what the test was trying to do and what it saw, so a failing
 * scenario reads as a sentence about the store, not as a stack trace into the harness.
 */

/** Base class of the cluster's errors. */
export class ClusterError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClusterError';
  }
}

/** A client request did not succeed before its virtual deadline. */
export class RequestTimeoutError extends ClusterError {
  constructor(what: string, timeoutMs: number, attempts: number, lastProblem: string) {
    super(
      `${what} did not succeed within ${timeoutMs} ms of virtual time (${attempts} attempts); ` +
        `last problem: ${lastProblem}`,
    );
    this.name = 'RequestTimeoutError';
  }
}

/** The mock scheduler knows no region for a key (after polling for a while, as TinyKV does). */
export class NoRegionError extends ClusterError {
  constructor(key: string, waitedMs: number) {
    super(`the scheduler knows no region for key ${key} after ${waitedMs} virtual ms: no leader has reported a region covering it`);
    this.name = 'NoRegionError';
  }
}

/** A check of the store's state failed (a value, a peer, a log size...). */
export class ClusterCheckError extends ClusterError {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterCheckError';
  }
}

/** The cluster API was used wrongly (unknown store, store already up...). */
export class ClusterUsageError extends ClusterError {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterUsageError';
  }
}

/** A message from a store to the mock scheduler was malformed (a raftstore bug). */
export class BadSchedulerRequestError extends ClusterError {
  constructor(what: string, problem: string) {
    super(`bad ${what} sent to the scheduler: ${problem}`);
    this.name = 'BadSchedulerRequestError';
  }
}

/** The mock scheduler refused a request (askSplit of an unknown or stale region); passed to the reply. */
export class SchedulerRefusedError extends ClusterError {
  constructor(message: string) {
    super(message);
    this.name = 'SchedulerRefusedError';
  }
}
