/**
 * Raft messages between stores over gRPC: the Transport a store's raftstore gets in a real cluster (the
 * simulation gives it a simulated network instead; the raftstore cannot tell).
 *
 * Sending: one connection per destination store, its address asked of the scheduler and cached. Plain
 * messages go on one long-lived Raft stream per connection. A message carrying a snapshot goes on a Snapshot
 * stream of its own, cut into chunks: the first chunk carries the message with the snapshot's data taken
 * out, the chunks' data put together is that data. When a stream breaks, the connection forgets the address
 * (the store may have moved: a restart on another port) and tries again after a backoff; messages meanwhile
 * are dropped, as a network would, and raft sends them again.
 *
 * Receiving: the TinyKv service's Raft and Snapshot methods (raftHandler, snapshotHandler) hand each message
 * to the raftstore as a job of its runtime. A snapshot is delivered only once its last chunk has arrived and
 * its data decodes; one cut off mid-stream is dropped with a log line.
 */
import * as grpc from '@grpc/grpc-js';
import { decode, raft_serverpb } from '#proto';
import { clientConstructor, clientOptions, type ServiceClient } from '#proto/grpc.ts';
import type { InboundHandler, Runtime, Transport } from '../../runtime/runtime.ts';

type RaftMessage = raft_serverpb.RaftMessage;
type Client = ServiceClient<'tinykvpb.TinyKv'>;

/** Where a store listens (the scheduler knows). */
export interface StoreAddressResolver {
  resolve(storeId: number): Promise<string>;
}

export interface RaftTransportOptions {
  storeId: number;
  runtime: Runtime;
  resolver: StoreAddressResolver;
  log?: (line: string) => void;
  /** Bytes of snapshot data per chunk (default 1 MiB). */
  chunkBytes?: number;
}

const RECONNECT_BACKOFF_MS = 500;
/** Messages waiting for a connection to a store, at most; more are dropped. */
const MAX_WAITING = 4096;

export class GrpcRaftTransport implements Transport<RaftMessage> {
  private handler: InboundHandler<RaftMessage> | undefined;
  private readonly connections = new Map<number, Connection>();
  private closed = false;
  /** Counters for logs and tests. */
  readonly stats = { sent: 0, received: 0, dropped: 0, snapshotsSent: 0, snapshotsReceived: 0, snapshotsCutOff: 0 };

  constructor(private readonly options: RaftTransportOptions) {}

  send(toStore: number, msg: RaftMessage): void {
    if (this.closed) return;
    let conn = this.connections.get(toStore);
    if (conn === undefined) {
      conn = new Connection(toStore, this.options, this.stats);
      this.connections.set(toStore, conn);
    }
    conn.send(msg);
  }

  listen(handler: InboundHandler<RaftMessage>): void {
    this.handler = handler;
  }

  /** Stops sending: every stream is ended and every channel closed. */
  close(): void {
    this.closed = true;
    for (const conn of this.connections.values()) conn.close();
    this.connections.clear();
  }

  /** The TinyKv service's Raft method: a stream of messages from another store. */
  readonly raftHandler: grpc.handleClientStreamingCall<RaftMessage, raft_serverpb.Done> = (call, callback) => {
    call.on('data', (msg: RaftMessage) => this.deliver(msg));
    call.on('end', () => callback(null, raft_serverpb.Done()));
    call.on('error', () => undefined); // the sender went away; it reconnects
  };

  /** The TinyKv service's Snapshot method: one snapshot message in chunks. */
  readonly snapshotHandler: grpc.handleClientStreamingCall<raft_serverpb.SnapshotChunk, raft_serverpb.Done> = (call, callback) => {
    let head: RaftMessage | undefined;
    const parts: Uint8Array[] = [];
    let complete = false;
    call.on('data', (chunk: raft_serverpb.SnapshotChunk) => {
      if (chunk.message !== undefined) head = chunk.message;
      if (chunk.data.length > 0) parts.push(chunk.data);
    });
    call.on('end', () => {
      complete = true;
      const msg = assembleSnapshot(head, parts);
      if (typeof msg === 'string') {
        this.stats.snapshotsCutOff++;
        this.log(`dropped a snapshot: ${msg}`);
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `Snapshot: ${msg}` }, null);
        return;
      }
      this.stats.snapshotsReceived++;
      this.deliver(msg);
      callback(null, raft_serverpb.Done());
    });
    const cutOff = () => {
      if (complete) return;
      complete = true;
      this.stats.snapshotsCutOff++;
      this.log(`a snapshot for region ${head?.regionId ?? '?'} was cut off after ${parts.length} chunk(s); dropped (the leader sends it again)`);
    };
    call.on('error', cutOff);
    call.on('cancelled', cutOff);
  };

  private deliver(msg: RaftMessage): void {
    const handler = this.handler;
    if (handler === undefined || this.closed) return;
    if (msg.toPeer !== undefined && msg.toPeer.storeId !== this.options.storeId) {
      this.log(`dropped a message for store ${msg.toPeer.storeId}: this is store ${this.options.storeId}`);
      return;
    }
    this.stats.received++;
    const from = msg.fromPeer?.storeId ?? 0;
    this.options.runtime.post(`message from store ${from}`, () => handler(msg, from));
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

/**
 * The Raft and Snapshot methods of a store whose raftstore is still starting. The gRPC server listens first
 * (so the store can register its address), and other stores may open their streams before the transport
 * exists: such a call is answered UNAVAILABLE, which the sender sees as a broken stream (it tries again
 * after a backoff). Destroying the call instead would leave the sender's stream open with no error, and
 * every message on it lost for as long as the connection lives.
 */
export class RaftServiceGate {
  private transport: GrpcRaftTransport | undefined;
  /** Streams refused while starting (logs and tests). */
  refused = 0;

  /** From now on the methods go to `transport`. */
  open(transport: GrpcRaftTransport): void {
    this.transport = transport;
  }

  readonly raftHandler: grpc.handleClientStreamingCall<RaftMessage, raft_serverpb.Done> = (call, callback) => {
    if (this.transport !== undefined) return this.transport.raftHandler(call, callback);
    this.refuse(callback);
  };

  readonly snapshotHandler: grpc.handleClientStreamingCall<raft_serverpb.SnapshotChunk, raft_serverpb.Done> = (call, callback) => {
    if (this.transport !== undefined) return this.transport.snapshotHandler(call, callback);
    this.refuse(callback);
  };

  private refuse(callback: grpc.sendUnaryData<raft_serverpb.Done>): void {
    this.refused++;
    callback({ code: grpc.status.UNAVAILABLE, details: 'the store is still starting' }, null);
  }
}

/** The message a snapshot's chunks make, or why they make none. */
export function assembleSnapshot(head: RaftMessage | undefined, parts: readonly Uint8Array[]): RaftMessage | string {
  const snapshot = head?.message?.snapshot;
  if (head === undefined || snapshot === undefined) return 'its first chunk carried no snapshot message';
  const size = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  try {
    decode('raft_serverpb.RaftSnapshotData', data);
  } catch (err) {
    return `region ${head.regionId}: its ${size} bytes of data do not decode (${err instanceof Error ? err.message : String(err)}); was it cut off?`;
  }
  return { ...head, message: { ...head.message!, snapshot: { ...snapshot, data } } };
}

/** The chunks of a snapshot message: the message without its data first, then the data in pieces. */
export function snapshotChunks(msg: RaftMessage, chunkBytes: number): raft_serverpb.SnapshotChunk[] {
  const snapshot = msg.message!.snapshot!;
  const data = snapshot.data;
  const head: RaftMessage = { ...msg, message: { ...msg.message!, snapshot: { ...snapshot, data: new Uint8Array(0) } } };
  const chunks: raft_serverpb.SnapshotChunk[] = [];
  for (let at = 0; at < data.length || chunks.length === 0; at += chunkBytes) {
    chunks.push(raft_serverpb.SnapshotChunk({ message: chunks.length === 0 ? head : undefined, data: data.subarray(at, at + chunkBytes) }));
  }
  return chunks;
}

/** The way to one other store. */
class Connection {
  private client: Client | undefined;
  /** The address the client was made for. */
  private address = '';
  private stream: grpc.ClientWritableStream<RaftMessage> | undefined;
  private connecting = false;
  private retryAt = 0;
  private readonly waiting: RaftMessage[] = [];

  constructor(
    private readonly toStore: number,
    private readonly options: RaftTransportOptions,
    private readonly stats: GrpcRaftTransport['stats'],
  ) {}

  send(msg: RaftMessage): void {
    if (this.client === undefined) {
      if (this.waiting.length >= MAX_WAITING) {
        this.stats.dropped++;
        return;
      }
      this.waiting.push(msg);
      this.connect();
      return;
    }
    this.write(msg);
  }

  close(): void {
    this.stream?.end();
    this.stream = undefined;
    this.client?.close();
    this.client = undefined;
    this.stats.dropped += this.waiting.length;
    this.waiting.length = 0;
  }

  private connect(): void {
    if (this.connecting || this.options.runtime.now() < this.retryAt) return;
    this.connecting = true;
    this.options.resolver.resolve(this.toStore).then(
      (address) => {
        this.connecting = false;
        const Ctor = clientConstructor('tinykvpb.TinyKv');
        this.address = address;
        this.client = new Ctor(address, grpc.credentials.createInsecure(), clientOptions());
        for (const msg of this.waiting.splice(0)) this.write(msg);
      },
      (err: unknown) => {
        this.connecting = false;
        this.retryAt = this.options.runtime.now() + RECONNECT_BACKOFF_MS;
        this.stats.dropped += this.waiting.length;
        this.waiting.length = 0;
        this.options.log?.(`no address for store ${this.toStore}: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  private write(msg: RaftMessage): void {
    const client = this.client!;
    if ((msg.message?.snapshot?.data.length ?? 0) > 0) {
      this.sendSnapshot(client, msg);
      return;
    }
    if (this.stream === undefined) {
      const stream = client.Raft((err) => {
        // The call is over: with an error (the other store refused it or went away) or ended by the other
        // side. Either way nothing more can be written on it.
        if (err === null) this.ended(stream);
        else if (err.code !== grpc.status.CANCELLED) this.broken(stream, err);
      });
      stream.on('error', (err: Error) => this.broken(stream, err));
      this.stream = stream;
    }
    this.stats.sent++;
    this.stream.write(msg);
  }

  private sendSnapshot(client: Client, msg: RaftMessage): void {
    const call = client.Snapshot((err) => {
      if (err !== null) this.options.log?.(`snapshot of region ${msg.regionId} to store ${this.toStore} at ${this.address} failed: ${err.details}`);
    });
    call.on('error', () => undefined);
    for (const chunk of snapshotChunks(msg, this.options.chunkBytes ?? 1 << 20)) call.write(chunk);
    call.end();
    this.stats.snapshotsSent++;
  }

  /** The other store ended the stream: the next message opens a new one. */
  private ended(stream: grpc.ClientWritableStream<RaftMessage>): void {
    if (this.stream === stream) this.stream = undefined;
  }

  /** The stream broke: forget the address (the store may be elsewhere now) and reconnect on a later send. */
  private broken(stream: grpc.ClientWritableStream<RaftMessage>, err: Error): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.client?.close();
    this.client = undefined;
    this.retryAt = this.options.runtime.now() + RECONNECT_BACKOFF_MS;
    this.options.log?.(`raft stream to store ${this.toStore} at ${this.address} broke (${(err as grpc.ServiceError).details ?? err.message}); reconnecting`);
  }
}
