// gRPC glue for the two services: @grpc/grpc-js service definitions that (de)serialize through our codec,
// typed handler and client shapes, and the method tables to iterate over.
//
// Server:
//   const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
//                                    'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
//   server.addService(serviceDefinition('tinykvpb.TinyKv'), withUnimplemented('tinykvpb.TinyKv', { RawGet, RawPut }));
// Client:
//   const TinyKvClient = clientConstructor('tinykvpb.TinyKv');
//   const client = new TinyKvClient('127.0.0.1:20160', grpc.credentials.createInsecure(), clientOptions());
//   const res = await callUnary(client, 'RawGet', kvrpcpb.RawGetRequest({ key, cf: 'default' }));

import * as grpc from '@grpc/grpc-js';
import { decode, encode, type WireTypeName, type WireTypes } from './codec.ts';
import { SERVICES, type ServiceName } from './gen/registry.ts';

export type { ServiceName } from './gen/registry.ts';

/** The largest message servers and clients should accept or send (raft snapshots can be big). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export const SERVICE_NAMES: readonly ServiceName[] = Object.keys(SERVICES) as ServiceName[];

/** Method name -> { path, requestType, responseType, requestStream, responseStream } for one service. */
export type MethodTable<S extends ServiceName> = (typeof SERVICES)[S];
export type MethodName<S extends ServiceName> = keyof MethodTable<S> & string;

/** What the table says about one method. */
export interface MethodInfo {
  readonly path: string;
  readonly requestType: WireTypeName;
  readonly responseType: WireTypeName;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

type Info<S extends ServiceName, M extends MethodName<S>> = MethodTable<S>[M] & MethodInfo;
export type RequestOf<S extends ServiceName, M extends MethodName<S>> = WireTypes[Info<S, M>['requestType']];
export type ResponseOf<S extends ServiceName, M extends MethodName<S>> = WireTypes[Info<S, M>['responseType']];

/** The grpc-js handler type a server must supply for one method, chosen by its streaming flags. */
export type HandlerOf<S extends ServiceName, M extends MethodName<S>> =
  Info<S, M>['requestStream'] extends true
    ? Info<S, M>['responseStream'] extends true
      ? grpc.handleBidiStreamingCall<RequestOf<S, M>, ResponseOf<S, M>>
      : grpc.handleClientStreamingCall<RequestOf<S, M>, ResponseOf<S, M>>
    : Info<S, M>['responseStream'] extends true
      ? grpc.handleServerStreamingCall<RequestOf<S, M>, ResponseOf<S, M>>
      : grpc.handleUnaryCall<RequestOf<S, M>, ResponseOf<S, M>>;

/** A complete implementation of a service. */
export type ServiceHandlers<S extends ServiceName> = { [M in MethodName<S>]: HandlerOf<S, M> };

/** The method table of a service (same object as `tinykvpb.TinyKv` / `schedulerpb.Scheduler`). */
export function methodTable<S extends ServiceName>(service: S): MethodTable<S> {
  const table = SERVICES[service];
  if (table === undefined) throw new Error(`unknown service '${service}'; known: ${SERVICE_NAMES.join(', ')}`);
  return table;
}

export function methodNames<S extends ServiceName>(service: S): MethodName<S>[] {
  return Object.keys(methodTable(service)) as MethodName<S>[];
}

export function methodInfo<S extends ServiceName>(service: S, method: MethodName<S>): MethodInfo {
  return methodTable(service)[method] as MethodInfo;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function buildDefinition(service: ServiceName): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, raw] of Object.entries(methodTable(service))) {
    const info = raw as MethodInfo;
    const req = info.requestType;
    const res = info.responseType;
    def[method] = {
      path: info.path,
      requestStream: info.requestStream,
      responseStream: info.responseStream,
      requestSerialize: (value) => toBuffer(encode(req, value as WireTypes[typeof req])),
      requestDeserialize: (bytes) => decode(req, bytes),
      responseSerialize: (value) => toBuffer(encode(res, value as WireTypes[typeof res])),
      responseDeserialize: (bytes) => decode(res, bytes),
    };
  }
  return def;
}

const definitions = new Map<ServiceName, grpc.ServiceDefinition>();

/** The grpc-js definition of a service (built once, then shared). Paths look like '/tinykvpb.TinyKv/RawGet'. */
export function serviceDefinition<S extends ServiceName>(service: S): grpc.ServiceDefinition<ServiceHandlers<S>> {
  let def = definitions.get(service);
  if (def === undefined) {
    def = buildDefinition(service);
    definitions.set(service, def);
  }
  return def as grpc.ServiceDefinition<ServiceHandlers<S>>;
}

/** A handler that answers UNIMPLEMENTED, of the right kind for the method. */
export function unimplementedHandler<S extends ServiceName, M extends MethodName<S>>(service: S, method: M): HandlerOf<S, M> {
  const info = methodInfo(service, method);
  const status: Partial<grpc.StatusObject> = {
    code: grpc.status.UNIMPLEMENTED,
    details: `${service}/${method} is not implemented by this server`,
  };
  const handler = info.responseStream
    ? (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) => {
        call.emit('error', status);
      }
    : (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        callback(status, null);
      };
  return handler as unknown as HandlerOf<S, M>;
}

/** Completes a partial implementation with UNIMPLEMENTED handlers for the methods it lacks. */
export function withUnimplemented<S extends ServiceName>(service: S, handlers: Partial<ServiceHandlers<S>>): ServiceHandlers<S> {
  const full: Partial<ServiceHandlers<S>> = {};
  for (const method of methodNames(service)) {
    full[method] = handlers[method] ?? unimplementedHandler(service, method);
  }
  return full as ServiceHandlers<S>;
}

// ---- Clients ----

type Callback<Res> = grpc.requestCallback<Res>;

export interface UnaryClientMethod<Req, Res> {
  (request: Req, callback: Callback<Res>): grpc.ClientUnaryCall;
  (request: Req, metadata: grpc.Metadata, callback: Callback<Res>): grpc.ClientUnaryCall;
  (request: Req, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: Callback<Res>): grpc.ClientUnaryCall;
}
export interface ClientStreamingClientMethod<Req, Res> {
  (callback: Callback<Res>): grpc.ClientWritableStream<Req>;
  (metadata: grpc.Metadata, callback: Callback<Res>): grpc.ClientWritableStream<Req>;
  (metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: Callback<Res>): grpc.ClientWritableStream<Req>;
}
export interface ServerStreamingClientMethod<Req, Res> {
  (request: Req, metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>): grpc.ClientReadableStream<Res>;
}
export interface BidiClientMethod<Req, Res> {
  (metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>): grpc.ClientDuplexStream<Req, Res>;
}

export type ClientMethodOf<S extends ServiceName, M extends MethodName<S>> =
  Info<S, M>['requestStream'] extends true
    ? Info<S, M>['responseStream'] extends true
      ? BidiClientMethod<RequestOf<S, M>, ResponseOf<S, M>>
      : ClientStreamingClientMethod<RequestOf<S, M>, ResponseOf<S, M>>
    : Info<S, M>['responseStream'] extends true
      ? ServerStreamingClientMethod<RequestOf<S, M>, ResponseOf<S, M>>
      : UnaryClientMethod<RequestOf<S, M>, ResponseOf<S, M>>;

/** A grpc-js client with one typed method per service method (same names: client.RawGet(...)). */
export type ServiceClient<S extends ServiceName> = grpc.Client & { [M in MethodName<S>]: ClientMethodOf<S, M> };

export interface ServiceClientConstructor<S extends ServiceName> {
  new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ChannelOptions>): ServiceClient<S>;
  service: grpc.ServiceDefinition;
  serviceName: string;
}

const constructors = new Map<ServiceName, grpc.ServiceClientConstructor>();

/** The client class of a service (built once). Pass `clientOptions()` to raise the message size limits. */
export function clientConstructor<S extends ServiceName>(service: S): ServiceClientConstructor<S> {
  let ctor = constructors.get(service);
  if (ctor === undefined) {
    ctor = grpc.makeGenericClientConstructor(serviceDefinition(service), service);
    constructors.set(service, ctor);
  }
  return ctor as unknown as ServiceClientConstructor<S>;
}

/** Channel options with the message size limits raised to MAX_MESSAGE_BYTES, plus any extras. */
export function clientOptions(extra: Partial<grpc.ChannelOptions> = {}): Partial<grpc.ChannelOptions> {
  return {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...extra,
  };
}

/** Server options with the message size limits raised to MAX_MESSAGE_BYTES, plus any extras. */
export function serverOptions(extra: grpc.ServerOptions = {}): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...extra,
  };
}

export type UnaryMethodName<S extends ServiceName> = {
  [M in MethodName<S>]: Info<S, M>['requestStream'] extends true ? never : Info<S, M>['responseStream'] extends true ? never : M;
}[MethodName<S>];

/** Calls a unary method and resolves with its response (rejects with the grpc ServiceError). */
export function callUnary<S extends ServiceName, M extends UnaryMethodName<S>>(
  client: ServiceClient<S>,
  method: M,
  request: RequestOf<S, M>,
  options: { metadata?: grpc.Metadata; deadline?: grpc.Deadline } = {},
): Promise<ResponseOf<S, M>> {
  type Call = (req: unknown, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: Callback<unknown>) => grpc.ClientUnaryCall;
  const fn = client[method] as unknown as Call;
  const callOptions: Partial<grpc.CallOptions> = options.deadline === undefined ? {} : { deadline: options.deadline };
  const result = new Promise<unknown>((resolve, reject) => {
    fn.call(client, request, options.metadata ?? new grpc.Metadata(), callOptions, (err, res) => {
      if (err) reject(err);
      else if (res === undefined) reject(new Error(`${method}: empty response`));
      else resolve(res);
    });
  });
  return result as Promise<ResponseOf<S, M>>;
}
