// The test cluster in one import: `import { runClusterTest, genericTest, bytes } from '../../cluster/index.ts';`
export { Cluster, DEFAULT_NETWORK } from './cluster.ts';
export type { ClusterOptions } from './cluster.ts';
export { runClusterTest } from './run-cluster-test.ts';
export type { StoreInstance } from './stores.ts';
export type { ApplyStateView } from './store-inspection.ts';
export { MockScheduler } from './mock-scheduler.ts';
export type { MockSchedulerOptions, MockSchedulerStats, Operator, RegionInfo } from './mock-scheduler.ts';
export {
  UNRELIABLE_DROP_RATE,
  checkClientAppends,
  checkRaftLogSizes,
  clientKey,
  clientValue,
  genericTest,
  genericTitle,
} from './generic-test.ts';
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
export * from './keys.ts';
export * from './requests.ts';
export * from './errors.ts';
