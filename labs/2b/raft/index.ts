/** The raft package's public API. */
export {
  RaftError,
  CompactedError,
  UnavailableError,
  SnapshotTemporarilyUnavailableError,
  SnapOutOfDateError,
  ProposalDroppedError,
  StepLocalMsgError,
  StepPeerNotFoundError,
  ConfigError,
  LogInvariantError,
} from './errors.ts';
export { type RaftStorage, MemoryStorage } from './storage.ts';
export { RaftLog } from './log.ts';
export { NONE, StateType, type Config, validateConfig, Progress, type SoftState, Raft } from './raft.ts';
export { type Ready, type ProposeResult, type RaftStatus, RawNode } from './rawnode.ts';
export {
  isLocalMsg,
  isResponseMsg,
  isHardStateEqual,
  isEmptyHardState,
  isSoftStateEqual,
  isEmptySnap,
} from './util.ts';
