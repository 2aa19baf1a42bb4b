/**
 * How a command's answer gets back to whoever sent it: a callback answered exactly once.
 */
import type { raft_cmdpb } from '#proto';
import type { StorageReader } from '../storage/storage.ts';

export interface CommandResult {
  /** Region errors are in response.header.error (NotLeader, RegionNotFound, KeyNotInRegion, EpochNotMatch, StaleCommand, StoreNotMatch). */
  response: raft_cmdpb.RaftCmdResponse;
  /** For a Snap request: a consistent reader of the kv engine bounded to the region's range. Close it. */
  reader?: StorageReader;
}

export interface Callback {
  /** Answer the command. Later calls are ignored (a reader they carry is closed). */
  done(result: CommandResult): void;
  /** True once answered. */
  readonly answered: boolean;
}

/** A callback that hands the first answer to `deliver` and drops any later one. */
export function onceCallback(deliver: (result: CommandResult) => void): Callback {
  let answered = false;
  return {
    done(result) {
      if (answered) {
        void result.reader?.close();
        return;
      }
      answered = true;
      deliver(result);
    },
    get answered() {
      return answered;
    },
  };
}
