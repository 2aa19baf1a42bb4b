// The deterministic simulation in one import: `import { Sim, SimNetwork, partition } from '../sim/index.ts';`
// Values are what the harness uses; the types name the parameters and results of this API.
export { Sim } from './sim.ts';
export type { SimOptions } from './sim.ts';
export type { NodeSpec, SimNode } from './nodes.ts';
export { SimNodeRuntime } from './node-runtime.ts';
export type { ClientHandle, WaitOptions } from './clients.ts';
export { SimNetwork } from './network.ts';
export type { Envelope, Filter, FilterHandle, MessageKind, NetworkOptions, NetworkStats } from './network.ts';
export { dropRandomly, dropWhere, isolate, onlyWhen, partition, randomSplit } from './filters.ts';
export type { DropRates } from './filters.ts';
export {
  SimDeadlockError,
  SimHandlerError,
  SimInvariantError,
  SimLivelockError,
  SimStrayContinuationError,
  SimStuckEventError,
  SimTimeoutError,
  SimUsageError,
  WaitTimeoutError,
} from './errors.ts';
export { canonicalText } from './trace.ts';
export type { Trace, TraceKind, TraceRecord } from './trace.ts';
export { formatFailure, parseSeed, replayCommands, testSeed, traceDir, tracePath, BadSeedError } from './report.ts';
export { runSimTest } from './sim-test.ts';
export type { SimTestOptions, SimTestResult } from './sim-test.ts';
