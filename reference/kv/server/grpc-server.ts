/**
 * Serves tinykvpb.TinyKv over gRPC (@grpc/grpc-js) from an object with one async method per RPC, named in
 * lower camel case (RawGet -> rawGet). The Server class is such an object; so is a no-op handler in the
 * benchmark. Every unary method the object has is served; every other method answers UNIMPLEMENTED with a
 * message naming it. Streaming methods (Raft, Snapshot) can be supplied as raw grpc-js handlers.
 *
 * Failures never crash the process:
 *   - a request whose bytes do not decode answers INVALID_ARGUMENT (and nothing is called);
 *   - a handler that throws answers a status: UNIMPLEMENTED for a lab stub (NotImplemented),
 *     UNAVAILABLE when the storage is closed (shutting down), INTERNAL otherwise, always with a message.
 */
import * as grpc from '@grpc/grpc-js';
import {
  methodInfo,
  methodNames,
  serverOptions,
  serviceDefinition,
  unimplementedHandler,
  type MethodName,
  type RequestOf,
  type ResponseOf,
  type ServiceHandlers,
} from '#proto/grpc.ts';
import { NotImplemented } from '../../util/not-implemented.ts';
import { EngineClosedError } from '../storage/errors.ts';

const SERVICE = 'tinykvpb.TinyKv';
type Method = MethodName<typeof SERVICE>;

/** Default listening address of a TinyKV server (TinyKV's own default port). */
export const DEFAULT_ADDR = '127.0.0.1:20160';

/** The handler object: `rawGet(req)` for RawGet, and so on. Any subset may be present. */
export type TinyKvHandlers = {
  [M in Method as Uncapitalize<M>]?: (req: RequestOf<typeof SERVICE, M>) => Promise<ResponseOf<typeof SERVICE, M>>;
};

export interface GrpcServeOptions {
  /** host:port to listen on; port 0 picks a free port. Default 127.0.0.1:20160. */
  addr?: string;
  /** Raw grpc-js handlers, e.g. for the streaming Raft and Snapshot methods; they win over `handlers`. */
  extraHandlers?: Partial<ServiceHandlers<typeof SERVICE>>;
  /** Told about every handler failure (the server binary logs them). */
  onHandlerError?: (method: string, err: unknown) => void;
}

/** Stands in for a request whose bytes did not decode, so the handler can answer INVALID_ARGUMENT. */
class MalformedRequest {
  constructor(readonly reason: string) {}
}

/** The service definition with unary request decoding that reports failures instead of throwing. */
function tolerantDefinition(): grpc.ServiceDefinition {
  const base = serviceDefinition(SERVICE) as grpc.ServiceDefinition;
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, original] of Object.entries(base)) {
    if (original.requestStream || original.responseStream) {
      def[method] = original;
      continue;
    }
    def[method] = {
      ...original,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return original.requestDeserialize(bytes);
        } catch (err) {
          return new MalformedRequest(err instanceof Error ? err.message : String(err));
        }
      },
    };
  }
  return def;
}

function lowerFirst(method: string): string {
  return method.charAt(0).toLowerCase() + method.slice(1);
}

/** The gRPC status for an error thrown by a handler. */
export function statusForError(method: string, err: unknown): Partial<grpc.StatusObject> {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof NotImplemented) {
    return { code: grpc.status.UNIMPLEMENTED, details: `${method}: ${message}` };
  }
  if (err instanceof EngineClosedError) {
    return { code: grpc.status.UNAVAILABLE, details: `${method}: the server is shutting down (${message})` };
  }
  return { code: grpc.status.INTERNAL, details: `${method} failed: ${message}` };
}

function unaryHandler(
  method: string,
  handle: (req: unknown) => Promise<unknown>,
  onError: GrpcServeOptions['onHandlerError'],
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const req = call.request;
    if (req instanceof MalformedRequest) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: `${method}: malformed request: ${req.reason}` }, null);
      return;
    }
    let pending: Promise<unknown>;
    try {
      pending = handle(req);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (resp) => callback(null, resp),
      (err: unknown) => {
        onError?.(method, err);
        callback(statusForError(method, err), null);
      },
    );
  };
}

/** Every method of the service: from `handlers`, `extraHandlers`, or an UNIMPLEMENTED answer. */
function buildImplementation(handlers: TinyKvHandlers, options: GrpcServeOptions): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  const table = handlers as Record<string, unknown>;
  for (const method of methodNames(SERVICE)) {
    const extra = options.extraHandlers?.[method];
    const info = methodInfo(SERVICE, method);
    const own = table[lowerFirst(method)];
    if (extra !== undefined) {
      impl[method] = extra as grpc.UntypedHandleCall;
    } else if (typeof own === 'function' && !info.requestStream && !info.responseStream) {
      const handle = (req: unknown) => (own as (r: unknown) => Promise<unknown>).call(handlers, req);
      impl[method] = unaryHandler(method, handle, options.onHandlerError);
    } else {
      impl[method] = unimplementedHandler(SERVICE, method) as grpc.UntypedHandleCall;
    }
  }
  return impl;
}

/** Split "host:port" (host may be a bracketed IPv6 address). Throws on anything else. */
export function parseAddress(addr: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(addr);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port > 65535) {
    throw new Error(`bad address ${JSON.stringify(addr)}: expected host:port, e.g. 127.0.0.1:20160`);
  }
  return { host: match[1], port };
}

/** A running gRPC server for the TinyKv service. */
export class TinyKvGrpcServer {
  /** The address actually bound (the real port when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  private readonly grpcServer: grpc.Server;
  private stopped = false;

  private constructor(grpcServer: grpc.Server, host: string, port: number) {
    this.grpcServer = grpcServer;
    this.port = port;
    this.address = `${host}:${port}`;
  }

  /** Start serving `handlers` (usually a Server) on options.addr. Rejects with a clear message if it cannot bind. */
  static async start(handlers: TinyKvHandlers, options: GrpcServeOptions = {}): Promise<TinyKvGrpcServer> {
    const addr = options.addr ?? DEFAULT_ADDR;
    const { host } = parseAddress(addr);
    const grpcServer = new grpc.Server(serverOptions());
    grpcServer.addService(tolerantDefinition(), buildImplementation(handlers, options));
    const port = await new Promise<number>((resolve, reject) => {
      grpcServer.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, boundPort) => {
        if (err) reject(new Error(`cannot listen on ${addr}: ${err.message}`, { cause: err }));
        else resolve(boundPort);
      });
    });
    return new TinyKvGrpcServer(grpcServer, host, port);
  }

  /** Stop accepting calls and wait for the running ones to finish. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await new Promise<void>((resolve) => {
      this.grpcServer.tryShutdown(() => resolve());
    });
  }

  /** Stop at once, cancelling running calls. */
  forceStop(): void {
    this.stopped = true;
    this.grpcServer.forceShutdown();
  }
}
