// The deterministic simulation in one import: `import { Sim, SimNetwork, partition } from '../sim/index.ts';`
export { Sim } from './sim.ts';
export type { SimOptions } from './sim.ts';
export { SimNode } from './nodes.ts';
export type { NodeSpec } from './nodes.ts';
export { SimNodeRuntime } from './node-runtime.ts';
export type { ClientHandle, WaitOptions } from './clients.ts';
export { SimNetwork } from './network.ts';
export type { Envelope, Filter, FilterHandle, MessageKind, NetworkOptions, NetworkStats } from './network.ts';
export { dropRandomly, dropWhere, isolate, onlyWhen, partition, randomSplit } from './filters.ts';
export type { DropRates } from './filters.ts';
export {
  SimDeadlockError,
  SimError,
  SimHandlerError,
  SimLivelockError,
  SimStrayContinuationError,
  SimStuckEventError,
  SimTimeoutError,
  SimUsageError,
  WaitTimeoutError,
} from './errors.ts';
export { Trace, canonicalText, formatRecord } from './trace.ts';
export type { TraceKind, TraceRecord } from './trace.ts';
export { formatFailure, parseSeed, replayCommands, testSeed, tracePath, BadSeedError } from './report.ts';
export { runSimTest } from './sim-test.ts';
export type { SimTestOptions, SimTestResult } from './sim-test.ts';
