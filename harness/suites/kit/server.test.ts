// The gRPC serving machinery (given code): unimplemented methods, handler failures, malformed requests,
// addresses, and the request checks the raw handlers use. Runs with stand-in handlers, no storage.
import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb } from '#proto';
import { TinyKvGrpcServer, parseAddress, statusForError, type TinyKvHandlers } from '@impl/kv/server/grpc-server.ts';
import { RawClient, RawClientError } from '@impl/kv/server/raw-client.ts';
import { RequestError, checkKeyLength, requireColumnFamily, requireKey, requireLimit, MAX_KEY_BYTES } from '@impl/kv/server/request-checks.ts';
import { NotImplemented } from '@impl/util/not-implemented.ts';
import { EngineClosedError } from '@impl/kv/storage/errors.ts';

const running: { server: TinyKvGrpcServer; client: RawClient }[] = [];

async function serve(handlers: TinyKvHandlers): Promise<{ server: TinyKvGrpcServer; client: RawClient }> {
  const server = await TinyKvGrpcServer.start(handlers, { addr: '127.0.0.1:0' });
  const client = new RawClient(server.address);
  running.push({ server, client });
  return { server, client };
}

afterEach(async () => {
  for (const { server, client } of running.splice(0)) {
    client.close();
    await server.stop();
  }
});

/** Send raw bytes as the request of `method`, bypassing the client-side encoder. */
function sendRawBytes(address: string, method: string, body: Buffer): Promise<grpc.ServiceError | Buffer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/tinykvpb.TinyKv/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      (err, value) => {
        client.close();
        resolve(err ?? value!);
      },
    );
  });
}

async function statusOf(pending: Promise<unknown>): Promise<{ code: number | undefined; message: string }> {
  try {
    await pending;
  } catch (err) {
    expect(err).toBeInstanceOf(RawClientError);
    return { code: (err as RawClientError).code, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}

describe('gRPC server machinery', () => {
  it('binds an ephemeral loopback port and serves the methods the handler object has', async () => {
    const seen: kvrpcpb.RawPutRequest[] = [];
    const { server, client } = await serve({
      rawPut: async (req) => {
        seen.push(req);
        return kvrpcpb.RawPutResponse({ error: 'seen' });
      },
    });
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);
    const resp = await client.rawPut({ key: Uint8Array.of(1), value: Uint8Array.of(2), cf: 'lock' });
    expect(resp.error).toBe('seen');
    expect(seen).toHaveLength(1);
    expect([...seen[0].key]).toEqual([1]);
    expect(seen[0].cf).toBe('lock');
  });

  it('answers UNIMPLEMENTED, naming the method, for methods the handler object lacks', async () => {
    const { client } = await serve({});
    const failure = await statusOf(client.rawGet({ key: Uint8Array.of(1) }));
    expect(failure.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(failure.message).toMatch(/RawGet/);
  });

  it('turns a handler exception into a status and keeps serving', async () => {
    let calls = 0;
    const { client } = await serve({
      rawGet: async () => {
        calls++;
        if (calls === 1) throw new Error('disk on fire');
        return kvrpcpb.RawGetResponse({ notFound: true });
      },
      rawScan: () => {
        throw new NotImplemented('1', 'Server.rawScan'); // synchronous throw
      },
    });
    const first = await statusOf(client.rawGet({ key: Uint8Array.of(1) }));
    expect(first.code).toBe(grpc.status.INTERNAL);
    expect(first.message).toMatch(/RawGet failed: disk on fire/);
    const stub = await statusOf(client.rawScan({ limit: 1 }));
    expect(stub.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(stub.message).toMatch(/stage 1/);
    const second = await client.rawGet({ key: Uint8Array.of(1) });
    expect(second.notFound).toBe(true);
  });

  it('answers INVALID_ARGUMENT to bytes that do not decode, without calling the handler', async () => {
    let calls = 0;
    const { server, client } = await serve({
      rawPut: async () => {
        calls++;
        return kvrpcpb.RawPutResponse();
      },
    });
    // Field 2 (key) announced as length-delimited with an unterminated length.
    const reply = await sendRawBytes(server.address, 'RawPut', Buffer.from([0x12, 0xff, 0xff, 0xff]));
    expect(reply).toBeInstanceOf(Error);
    expect((reply as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((reply as grpc.ServiceError).details).toMatch(/RawPut: malformed request/);
    expect(calls).toBe(0);
    await client.rawPut({ key: Uint8Array.of(1) });
    expect(calls).toBe(1);
  });

  it('maps errors to statuses', () => {
    expect(statusForError('RawGet', new NotImplemented('1', 'x')).code).toBe(grpc.status.UNIMPLEMENTED);
    expect(statusForError('RawGet', new EngineClosedError('read')).code).toBe(grpc.status.UNAVAILABLE);
    expect(statusForError('RawGet', 'weird').code).toBe(grpc.status.INTERNAL);
    expect(statusForError('RawGet', 'weird').details).toBe('RawGet failed: weird');
  });

  it('explains a server that cannot be reached', async () => {
    const probe = await TinyKvGrpcServer.start({}, { addr: '127.0.0.1:0' });
    const address = probe.address;
    await probe.stop(); // nothing listens there any more
    const client = new RawClient(address);
    try {
      const failure = await statusOf(client.rawGet({ key: Uint8Array.of(1) }));
      expect(failure.code).toBe(grpc.status.UNAVAILABLE);
      expect(failure.message).toMatch(/cannot reach a TinyKV server at 127\.0\.0\.1:\d+/);
    } finally {
      client.close();
    }
  });

  it('reports a port already in use', async () => {
    const { server } = await serve({});
    await expect(TinyKvGrpcServer.start({}, { addr: server.address })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+/);
  });

  it('parses addresses and refuses malformed ones', () => {
    expect(parseAddress('127.0.0.1:20160')).toEqual({ host: '127.0.0.1', port: 20160 });
    expect(parseAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseAddress('[::1]:5')).toEqual({ host: '[::1]', port: 5 });
    for (const bad of ['', '127.0.0.1', ':80', 'host:99999', 'host:port', 'a b:1']) {
      expect(() => parseAddress(bad)).toThrow(/bad address/);
    }
  });
});

describe('request checks', () => {
  it('column families: the three names, empty means default, anything else refused', () => {
    expect(requireColumnFamily('default')).toBe('default');
    expect(requireColumnFamily('lock')).toBe('lock');
    expect(requireColumnFamily('write')).toBe('write');
    expect(requireColumnFamily('')).toBe('default');
    expect(() => requireColumnFamily('WRITE')).toThrow(RequestError);
    expect(() => requireColumnFamily('raft')).toThrow(/unknown column family "raft"/);
  });

  it('keys: not empty, not over the limit', () => {
    expect(() => requireKey(new Uint8Array(0))).toThrow(/key must not be empty/);
    expect(() => requireKey(new Uint8Array(MAX_KEY_BYTES + 1))).toThrow(/limit is 8192 bytes/);
    expect(requireKey(new Uint8Array(MAX_KEY_BYTES)).length).toBe(MAX_KEY_BYTES);
    expect(checkKeyLength(new Uint8Array(0)).length).toBe(0);
  });

  it('limits: positive integers only', () => {
    expect(requireLimit(1)).toBe(1);
    expect(() => requireLimit(0)).toThrow(/limit must be positive/);
    expect(() => requireLimit(-3)).toThrow(RequestError);
    expect(() => requireLimit(1.5)).toThrow(RequestError);
  });
});
