/**
 * An in-process transport: stores living in the same Node process exchange messages through a hub.
 *
 * Each store gets an endpoint (a Transport bound to its store id and its runtime). A message is handed to
 * the receiver as a posted job of the receiver's runtime, so it is serialized with that store's ticks and
 * other messages, exactly as a message arriving from the network would be.
 *
 * Between processes, a gRPC transport (tinykvpb.TinyKv/Raft streams) implements the same Transport interface;
 * stores do not know which one they were given.
 */
import type { InboundHandler, Runtime, Transport } from './runtime.ts';

/** Thrown when two endpoints claim the same store id: a wiring bug, caught at startup. */
export class DuplicateStoreError extends Error {
  constructor(storeId: number) {
    super(`store ${storeId} already has an endpoint on this transport hub`);
    this.name = 'DuplicateStoreError';
  }
}

interface Endpoint<M> {
  runtime: Runtime;
  handler?: InboundHandler<M>;
}

export class LocalTransportHub<M> {
  private readonly endpoints = new Map<number, Endpoint<M>>();
  /** Messages that found no listening store (unknown id, not listening yet, or closed). */
  undeliverable = 0;

  /** The transport for store `storeId`, whose inbound messages run as jobs of `runtime`. */
  endpoint(storeId: number, runtime: Runtime): Transport<M> {
    if (this.endpoints.has(storeId)) throw new DuplicateStoreError(storeId);
    const own: Endpoint<M> = { runtime };
    this.endpoints.set(storeId, own);
    return {
      send: (toStore, msg) => this.deliver(storeId, toStore, msg),
      listen: (handler) => {
        own.handler = handler;
      },
    };
  }

  /** Remove a store's endpoint (it shut down); messages to it are dropped from now on. */
  close(storeId: number): void {
    this.endpoints.delete(storeId);
  }

  private deliver(fromStore: number, toStore: number, msg: M): void {
    const target = this.endpoints.get(toStore);
    const handler = target?.handler;
    if (target === undefined || handler === undefined) {
      this.undeliverable++;
      return;
    }
    target.runtime.post(`message from store ${fromStore}`, () => handler(msg, fromStore));
  }
}
