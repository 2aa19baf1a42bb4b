/**
 * A TinyKV-style in-memory network of raft state machines, for the raft suites.
 *
 *   const nt = newNetwork(null, null, null);   // three fresh nodes, ids 1..3
 *   nt.send(hup(1));                           // deliver, and everything it causes, until quiet
 *   nt.isolate(3); nt.cut(1, 2); nt.drop(1, 2, 0.5); nt.ignore(MessageType.MsgAppend); nt.recover();
 *
 * A peer is a Raft (its id is set to its position), a black hole (swallows everything), or null (a fresh
 * Raft over a fresh MemoryStorage, kept in `storage`). Messages are copied on delivery, as a real network
 * would, so a node can never see another node's objects. Random drops use a seeded source.
 */
import { eraftpb } from '#proto';
import { RaftError } from '@impl/raft/errors.ts';
import { Raft, type Config } from '@impl/raft/raft.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import { SeededRandom } from '@impl/util/prng.ts';
import { idsBySize, newTestConfig, readMessages, testSeed, type Message } from './helpers.ts';

const { MessageType } = eraftpb;

/** Anything the network can deliver to. */
export interface StateMachine {
  step(m: Message): void;
  readMessages(): Message[];
}

/** A peer that never answers. */
export class BlackHole implements StateMachine {
  step(_m: Message): void {}
  readMessages(): Message[] {
    return [];
  }
}

/** The black hole used to fill a position in newNetwork(...). */
export const nopStepper = new BlackHole();

export type Peer = Raft | BlackHole | null;

/** Stops a scenario whose messages never die down (a livelocked implementation) instead of hanging. */
const MAX_DELIVERIES = 200_000;

function cloneMessage(m: Message): Message {
  return {
    ...m,
    entries: m.entries.map((e) => ({ ...e, data: e.data.slice() })),
    snapshot: m.snapshot && {
      data: m.snapshot.data.slice(),
      metadata: m.snapshot.metadata && {
        ...m.snapshot.metadata,
        confState: m.snapshot.metadata.confState && { nodes: [...m.snapshot.metadata.confState.nodes] },
      },
    },
  };
}

export class Network {
  readonly peers = new Map<number, Raft | BlackHole>();
  /** The storages of the nodes the network created itself (null peers). */
  readonly storage = new Map<number, MemoryStorage>();
  /** Called for every message about to be delivered; return false to drop it. */
  msgHook?: (m: Message) => boolean;
  private dropm = new Map<string, number>();
  private ignorem = new Set<eraftpb.MessageType>();
  private readonly random: SeededRandom;

  constructor(random: SeededRandom) {
    this.random = random;
  }

  /** The Raft at `id` (throws if it is a black hole or absent). */
  raft(id: number): Raft {
    const p = this.peers.get(id);
    if (!(p instanceof Raft)) throw new Error(`network: peer ${id} is not a Raft`);
    return p;
  }

  /**
   * Delivers `msgs` and every message they cause, in order, until no message is left. A proposal that
   * raft refuses (ProposalDroppedError and other RaftErrors) is dropped like a lost message; any other
   * error fails the test.
   */
  send(...msgs: Message[]): void {
    const queue = [...msgs];
    let delivered = 0;
    while (queue.length > 0) {
      const m = queue.shift()!;
      const p = this.peers.get(m.to);
      if (!p) continue; // nobody at that address
      if (++delivered > MAX_DELIVERIES) {
        throw new Error(`network: still busy after ${MAX_DELIVERIES} deliveries; the nodes keep messaging each other forever`);
      }
      try {
        p.step(m);
      } catch (err) {
        if (!(err instanceof RaftError)) throw err;
      }
      queue.push(...this.filter(p instanceof Raft ? readMessages(p) : p.readMessages()));
    }
  }

  /** Drops a share `perc` (0..1; 1 or more: all) of the messages from `from` to `to`. */
  drop(from: number, to: number, perc: number): void {
    this.dropm.set(`${from}->${to}`, perc);
  }

  /** No message between `one` and `other`, either way. */
  cut(one: number, other: number): void {
    this.drop(one, other, 2.0);
    this.drop(other, one, 2.0);
  }

  /** No message to or from `id`. */
  isolate(id: number): void {
    for (const other of this.peers.keys()) {
      if (other !== id) {
        this.drop(id, other, 1.0);
        this.drop(other, id, 1.0);
      }
    }
  }

  /** Drops every message of type `t`. */
  ignore(t: eraftpb.MessageType): void {
    this.ignorem.add(t);
  }

  /** Heals every drop, cut, isolation and ignore. */
  recover(): void {
    this.dropm = new Map();
    this.ignorem = new Set();
  }

  private filter(msgs: Message[]): Message[] {
    const out: Message[] = [];
    for (const m of msgs) {
      if (m.msgType === MessageType.MsgHup) {
        throw new Error(`network: node ${m.from} sent MsgHup to ${m.to}; MsgHup is local and never crosses the network`);
      }
      if (this.ignorem.has(m.msgType)) continue;
      const perc = this.dropm.get(`${m.from}->${m.to}`) ?? 0;
      if (perc > 0 && this.random.nextFloat() < perc) continue;
      if (this.msgHook && !this.msgHook(m)) continue;
      out.push(cloneMessage(m));
    }
    return out;
  }
}

/** A network of the given peers at ids 1..n (see the file comment). */
export function newNetwork(...peers: Peer[]): Network {
  return newNetworkWithConfig(undefined, ...peers);
}

/** Like newNetwork, but `configure` may change the config of every node the network creates. */
export function newNetworkWithConfig(configure: ((c: Config) => void) | undefined, ...peers: Peer[]): Network {
  const ids = idsBySize(peers.length);
  const nt = new Network(new SeededRandom(testSeed() ^ 0x5eed));
  peers.forEach((p, k) => {
    const id = ids[k]!;
    if (p === null) {
      const storage = new MemoryStorage();
      const cfg = newTestConfig(id, ids, 10, 1, storage);
      configure?.(cfg);
      nt.storage.set(id, storage);
      nt.peers.set(id, new Raft(cfg));
    } else if (p instanceof Raft) {
      p.id = id;
      nt.peers.set(id, p);
    } else {
      nt.peers.set(id, p);
    }
  });
  return nt;
}
