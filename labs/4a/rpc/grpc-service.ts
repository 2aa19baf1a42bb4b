/**
 * Serves one gRPC service of the wire packages (tinykvpb.TinyKv, schedulerpb.Scheduler) from an object with
 * one async method per unary RPC, named in lower camel case (RawGet -> rawGet). Streaming methods are given
 * as raw grpc-js handlers. Every method the object lacks answers UNIMPLEMENTED with a message naming it.
 *
 * Failures never crash the process:
 *   - a request whose bytes do not decode answers INVALID_ARGUMENT (and nothing is called);
 *   - a handler that throws answers the status `statusFor` picks (INTERNAL unless it says otherwise),
 *     always with a message.
 */
import * as grpc from '@grpc/grpc-js';
import { methodInfo, methodNames, serverOptions, serviceDefinition, unimplementedHandler, type ServiceHandlers, type ServiceName } from '#proto/grpc.ts';

/** An error a handler throws on purpose, with the status to answer. */
export class StatusError extends Error {
  override name = 'StatusError';
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export interface ServeOptions<S extends ServiceName> {
  /** host:port to listen on; port 0 picks a free port. */
  addr: string;
  /** Raw grpc-js handlers, e.g. for streaming methods; they win over the handler object. */
  extraHandlers?: Partial<ServiceHandlers<S>>;
  /** Told about every handler failure (the server binaries log them). */
  onHandlerError?: (method: string, err: unknown) => void;
  /** The status for an error a handler threw, when it is not a StatusError (default: INTERNAL). */
  statusFor?: (method: string, err: unknown) => Partial<grpc.StatusObject> | undefined;
}

/** Stands in for a request whose bytes did not decode, so the handler can answer INVALID_ARGUMENT. */
class MalformedRequest {
  constructor(readonly reason: string) {}
}

/** The service definition with unary request decoding that reports failures instead of throwing. */
function tolerantDefinition(service: ServiceName): grpc.ServiceDefinition {
  const base = serviceDefinition(service) as grpc.ServiceDefinition;
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

function statusOf(method: string, err: unknown, statusFor: ServeOptions<ServiceName>['statusFor']): Partial<grpc.StatusObject> {
  if (err instanceof StatusError) return { code: err.code, details: `${method}: ${err.message}` };
  const chosen = statusFor?.(method, err);
  if (chosen !== undefined) return chosen;
  const message = err instanceof Error ? err.message : String(err);
  return { code: grpc.status.INTERNAL, details: `${method} failed: ${message}` };
}

function unaryHandler(method: string, handle: (req: unknown) => Promise<unknown>, options: ServeOptions<ServiceName>): grpc.handleUnaryCall<unknown, unknown> {
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
        if (!(err instanceof StatusError)) options.onHandlerError?.(method, err);
        callback(statusOf(method, err, options.statusFor), null);
      },
    );
  };
}

function buildImplementation<S extends ServiceName>(service: S, handlers: object, options: ServeOptions<S>): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  const table = handlers as Record<string, unknown>;
  for (const method of methodNames(service)) {
    const extra = options.extraHandlers?.[method];
    const info = methodInfo(service, method);
    const own = table[lowerFirst(method)];
    if (extra !== undefined) {
      impl[method] = extra as grpc.UntypedHandleCall;
    } else if (typeof own === 'function' && !info.requestStream && !info.responseStream) {
      const handle = (req: unknown) => (own as (r: unknown) => Promise<unknown>).call(handlers, req);
      impl[method] = unaryHandler(method, handle, options as ServeOptions<ServiceName>);
    } else {
      impl[method] = unimplementedHandler(service, method) as grpc.UntypedHandleCall;
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
  return { host: match[1]!, port };
}

/** A running gRPC server for one service. */
export class GrpcService {
  /** The address actually bound (the real port when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  private stopped = false;

  protected constructor(
    private readonly grpcServer: grpc.Server,
    host: string,
    port: number,
  ) {
    this.port = port;
    this.address = `${host}:${port}`;
  }

  /** Start serving `handlers` for `service` on options.addr. Rejects with a clear message if it cannot bind. */
  static async serve<S extends ServiceName>(service: S, handlers: object, options: ServeOptions<S>): Promise<GrpcService> {
    const { host } = parseAddress(options.addr);
    const grpcServer = new grpc.Server(serverOptions());
    grpcServer.addService(tolerantDefinition(service), buildImplementation(service, handlers, options));
    const port = await bind(grpcServer, options.addr);
    return new GrpcService(grpcServer, host, port);
  }

  /** Stop accepting calls and wait for the running ones to finish (streams are cancelled). Safe to call twice. */
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

function bind(grpcServer: grpc.Server, addr: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, boundPort) => {
      if (err) reject(new Error(`cannot listen on ${addr}: ${err.message}`, { cause: err }));
      else resolve(boundPort);
    });
  });
}

/** A gRPC failure in words: its details, and for an unreachable address a plain "connection refused". */
export function describeRpcError(err: unknown): string {
  const e = err as Partial<grpc.ServiceError>;
  if (err instanceof Error && typeof e.details === 'string') {
    if (e.code === grpc.status.UNAVAILABLE && /ECONNREFUSED/.test(e.details)) return 'connection refused';
    return e.details.replace(/\s*Resolution note:.*$/s, '');
  }
  return err instanceof Error ? err.message : String(err);
}
