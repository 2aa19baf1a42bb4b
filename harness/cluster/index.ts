// The test cluster in one import: `import { runClusterTest, genericTest, bytes } from '../../cluster/index.ts';`
// Values are what the suites use; the types name the parameters and results of this API.
export { Cluster } from './cluster.ts';
export type { ClusterOptions } from './cluster.ts';
export { runClusterTest } from './run-cluster-test.ts';
export type { StoreInstance } from './stores.ts';
export type { ApplyStateView } from './store-inspection.ts';
export { MockScheduler } from './mock-scheduler.ts';
export type { MockSchedulerOptions, MockSchedulerStats, Operator } from './mock-scheduler.ts';
export type { ClusterScheduler, RegionInfo } from './cluster-scheduler.ts';
export { ReferenceScheduler } from './reference-scheduler.ts';
export type { ReferenceSchedulerOptions } from './reference-scheduler.ts';
export { genericTest } from './generic-test.ts';
export type { GenericTestOptions, GenericTestReport } from './generic-test.ts';
export {
  classifyRaftMessage,
  copyRaftMessage,
  createRaftNetwork,
  describeRaftMessage,
  dropMessageTypes,
  dropOneWay,
  dropRegion,
} from './raft-network.ts';
export type { MessageCounts, RaftMessage } from './raft-network.ts';
export { bytes, text } from './keys.ts';
export { putRequest, snapRequest } from './requests.ts';
export { BadSchedulerRequestError, ClusterUsageError, RequestTimeoutError, SchedulerRefusedError } from './errors.ts';
