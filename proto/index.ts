// One import for every wire package and the codec: `import { eraftpb, kvrpcpb, encode, decode } from '#proto';`
// Types and factories are generated from proto/*.proto by proto/codegen.ts. The gRPC glue lives in
// '#proto/grpc.ts' (not re-exported here, so code that only needs types does not load @grpc/grpc-js).
export * as coprocessor from './gen/coprocessor.ts';
export * as eraftpb from './gen/eraftpb.ts';
export * as errorpb from './gen/errorpb.ts';
export * as kvrpcpb from './gen/kvrpcpb.ts';
export * as metapb from './gen/metapb.ts';
export * as raft_cmdpb from './gen/raft_cmdpb.ts';
export * as raft_serverpb from './gen/raft_serverpb.ts';
export * as schedulerpb from './gen/schedulerpb.ts';
export * as tinykvpb from './gen/tinykvpb.ts';

export { FACTORIES, SERVICES, WIRE_TYPE_NAMES, type ServiceName, type WireTypeName, type WireTypes } from './gen/registry.ts';
export { decode, encode, isWireTypeName, WireError } from './codec.ts';
export { TIMESTAMP_FIELDS } from './timestamps.ts';
