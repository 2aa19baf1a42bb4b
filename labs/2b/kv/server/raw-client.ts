/**
 * A small client for the raw API of a TinyKV server over gRPC, used by tinykv-ctl, the end-to-end tests and
 * the benchmark. Each call resolves with the decoded response; `error` and `regionError` are left for the
 * caller to inspect (the ctl prints them, tests assert them). Transport failures reject with a
 * RawClientError whose message says what went wrong and where.
 */
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb } from '#proto';
import { callUnary, clientConstructor, clientOptions, type ServiceClient } from '#proto/grpc.ts';
import { parseAddress } from './grpc-server.ts';

const SERVICE = 'tinykvpb.TinyKv';

/** A failed call: the server could not be reached, or answered a gRPC error status. */
export class RawClientError extends Error {
  readonly code: grpc.status | undefined;
  constructor(message: string, code: grpc.status | undefined, cause: unknown) {
    super(message, { cause });
    this.name = 'RawClientError';
    this.code = code;
  }
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number';
}

/** A message that explains a failed call to a person. */
function explainCallError(addr: string, method: string, err: unknown): RawClientError {
  if (!isServiceError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new RawClientError(`${method} to ${addr} failed: ${message}`, undefined, err);
  }
  const name = grpc.status[err.code] ?? String(err.code);
  if (err.code === grpc.status.UNAVAILABLE) {
    return new RawClientError(
      `cannot reach a TinyKV server at ${addr} (${err.details || 'connection failed'}); is tinykv-server running there?`,
      err.code,
      err,
    );
  }
  return new RawClientError(`${method} to ${addr} failed with ${name}: ${err.details}`, err.code, err);
}

export class RawClient {
  readonly addr: string;
  private readonly client: ServiceClient<typeof SERVICE>;

  /**
   * A client for the server at host:port. Connects lazily, on the first call. grpc-js lets channels to the
   * same address share one connection; pass `{ 'grpc.use_local_subchannel_pool': 1 }` for a connection of its own.
   */
  constructor(addr: string, channelOptions: Partial<grpc.ChannelOptions> = {}) {
    parseAddress(addr);
    this.addr = addr;
    const Client = clientConstructor(SERVICE);
    this.client = new Client(addr, grpc.credentials.createInsecure(), clientOptions(channelOptions));
  }

  rawGet(req: Partial<kvrpcpb.RawGetRequest>): Promise<kvrpcpb.RawGetResponse> {
    return this.call('RawGet', callUnary(this.client, 'RawGet', kvrpcpb.RawGetRequest(req)));
  }

  rawPut(req: Partial<kvrpcpb.RawPutRequest>): Promise<kvrpcpb.RawPutResponse> {
    return this.call('RawPut', callUnary(this.client, 'RawPut', kvrpcpb.RawPutRequest(req)));
  }

  rawDelete(req: Partial<kvrpcpb.RawDeleteRequest>): Promise<kvrpcpb.RawDeleteResponse> {
    return this.call('RawDelete', callUnary(this.client, 'RawDelete', kvrpcpb.RawDeleteRequest(req)));
  }

  rawScan(req: Partial<kvrpcpb.RawScanRequest>): Promise<kvrpcpb.RawScanResponse> {
    return this.call('RawScan', callUnary(this.client, 'RawScan', kvrpcpb.RawScanRequest(req)));
  }

  /** Close the channel. */
  close(): void {
    this.client.close();
  }

  private async call<T>(method: string, pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (err) {
      throw explainCallError(this.addr, method, err);
    }
  }
}
