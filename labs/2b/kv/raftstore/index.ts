/** The raftstore's public API (what servers, the test cluster and tools use). */
export { Raftstore, RaftstoreStartError, type RaftstoreDeps, type CommandResult } from './raftstore.ts';
export { defaultConfig, testConfig, validateConfig, RaftstoreConfigError, type RaftstoreConfig } from './config.ts';
export { openEngines, closeEngines, type Engines } from './engines.ts';
export { bootstrapStore, prepareBootstrapRegion, isBootstrapped, storeIdOf, firstRegion, BootstrapError } from './bootstrap.ts';
export { NoopSchedulerClient, type SchedulerClient } from './scheduler-client.ts';
export { RegionReader } from './region-reader.ts';
export { RAFT_INIT_LOG_INDEX, RAFT_INIT_LOG_TERM, INIT_EPOCH_VER, INIT_EPOCH_CONF_VER } from './meta.ts';
