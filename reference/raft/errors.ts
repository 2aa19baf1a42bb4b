/**
 * Errors raised by the raft package. Every one extends RaftError, so a caller can tell raft's refusals
 * (a dropped proposal, a compacted index) from bugs (a TypeError) with one `instanceof` check.
 */

export class RaftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The requested index lies before the log's compaction point: only a snapshot covers it now. */
export class CompactedError extends RaftError {
  constructor(message = 'requested index is unavailable due to compaction') {
    super(message);
  }
}

/** The requested index lies beyond the last entry of the log. */
export class UnavailableError extends RaftError {
  constructor(message = 'requested entry at index is unavailable') {
    super(message);
  }
}

/** The storage is still preparing a snapshot; the leader should try again later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  constructor(message = 'snapshot is temporarily unavailable') {
    super(message);
  }
}

/** A snapshot older than (or as old as) the one the storage already holds. */
export class SnapOutOfDateError extends RaftError {
  constructor(message = 'requested index is older than the existing snapshot') {
    super(message);
  }
}

/**
 * A proposal was refused: this node is not the leader and knows no leader to forward to, leadership is
 * being transferred, or a conf change is already pending. The proposer should retry elsewhere or later.
 */
export class ProposalDroppedError extends RaftError {
  constructor(message = 'raft proposal dropped') {
    super(message);
  }
}

/** A local message (MsgHup, MsgBeat) arrived through RawNode.step, i.e. from the network. */
export class StepLocalMsgError extends RaftError {
  constructor(message = 'raft: cannot step raft local message') {
    super(message);
  }
}

/** A response arrived from a node that is not a member of the group. */
export class StepPeerNotFoundError extends RaftError {
  constructor(message = 'raft: cannot step as peer not found') {
    super(message);
  }
}

/** The raft configuration is invalid (see validateConfig). */
export class ConfigError extends RaftError {}

/**
 * An operation would break an invariant of the log: a gap in the entries, a commit index beyond the
 * last entry, an applied index beyond the commit index, a truncation of committed entries.
 * Seeing one means a bug in the caller or in raft itself.
 */
export class LogInvariantError extends RaftError {}
