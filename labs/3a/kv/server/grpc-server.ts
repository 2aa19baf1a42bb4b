/**
 * Serves tinykvpb.TinyKv over gRPC (../../rpc/grpc-service.ts) from an object with one async method per
 * RPC, named in lower camel case (RawGet -> rawGet). The Server class is such an object; so is a no-op
 * handler in the benchmark. Streaming methods (Raft, Snapshot) can be supplied as raw grpc-js handlers.
 *
 * A handler that throws answers a status: UNIMPLEMENTED for a lab stub (NotImplemented), UNAVAILABLE when
 * the storage is closed (shutting down), INTERNAL otherwise, always with a message.
 */
import * as grpc from '@grpc/grpc-js';
import type { MethodName, RequestOf, ResponseOf, ServiceHandlers } from '#proto/grpc.ts';
import { GrpcService, parseAddress } from '../../rpc/grpc-service.ts';
import { NotImplemented } from '../../util/not-implemented.ts';
import { EngineClosedError } from '../storage/errors.ts';

export { parseAddress };

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

/** The gRPC status for an error thrown by a handler: lab stubs and a closing engine have their own. */
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

/** A running gRPC server for the TinyKv service. */
export class TinyKvGrpcServer {
  private constructor(private readonly service: GrpcService) {}

  /** The address actually bound (the real port when 0 was asked for). */
  get address(): string {
    return this.service.address;
  }

  get port(): number {
    return this.service.port;
  }

  /** Start serving `handlers` (usually a Server) on options.addr. Rejects with a clear message if it cannot bind. */
  static async start(handlers: TinyKvHandlers, options: GrpcServeOptions = {}): Promise<TinyKvGrpcServer> {
    const service = await GrpcService.serve(SERVICE, handlers, {
      addr: options.addr ?? DEFAULT_ADDR,
      extraHandlers: options.extraHandlers,
      onHandlerError: options.onHandlerError,
      statusFor: statusForError,
    });
    return new TinyKvGrpcServer(service);
  }

  /** Stop accepting calls and wait for the running ones to finish. Safe to call twice. */
  async stop(): Promise<void> {
    await this.service.stop();
  }

  /** Stop at once, cancelling running calls. */
  forceStop(): void {
    this.service.forceStop();
  }
}
