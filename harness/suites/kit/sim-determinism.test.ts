// Determinism end to end: a toy gossip protocol over the unreliable network — ticks, random peers, drops,
// reordering, random partitions, a crash and a restart, state persisted in real LevelDB engines (real async
// I/O) and handlers that pause for random real time — gives the same trace hash for the same seed, every
// time, and a different one for a different seed. The full JSONL trace matches the hash.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Transport } from '@impl/runtime/runtime.ts';
import {
  Sim,
  SimNetwork,
  canonicalText,
  dropRandomly,
  partition,
  randomSplit,
  runSimTest,
  type FilterHandle,
  type SimNodeRuntime,
  type TraceRecord,
} from '../../sim/index.ts';
import { createHash } from 'node:crypto';

const WORK_DIR = join('.tmp', 'sim-kit', `determinism-${process.pid}`);
let runCounter = 0;

afterAll(() => {
  rmSync(WORK_DIR, { recursive: true, force: true });
});

interface Gossip {
  type: 'ping' | 'pong';
  counter: number;
}

/** Real, unpredictable wall-clock jitter: the simulation must not care. */
function jitter(): Promise<void> {
  if (Math.random() < 0.8) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
}

class GossipNode {
  counter = 0;
  best = 0;
  private readonly net: Transport<Gossip>;

  constructor(
    private readonly rt: SimNodeRuntime,
    readonly db: ClassicLevel<string, string>,
    network: SimNetwork<Gossip>,
    private readonly peers: number[],
  ) {
    this.net = network.transport(rt);
  }

  async open(): Promise<void> {
    await this.db.open();
    // A restarted node resumes from what it persisted.
    this.counter = Number((await this.db.get('counter')) ?? 0);
    this.best = Number((await this.db.get('best')) ?? 0);
    this.net.listen((msg, from) => this.receive(msg, from));
    this.rt.every(50, () => this.tick(), 'tick');
  }

  private async tick(): Promise<void> {
    this.counter++;
    await jitter();
    await this.db.put('counter', String(this.counter));
    const others = this.peers.filter((p) => p !== this.rt.nodeId);
    this.net.send(others[this.rt.random.nextInt(others.length)]!, { type: 'ping', counter: this.counter });
    if (this.rt.random.nextInt(4) === 0) {
      // Sometimes gossip again a little later, to a second random peer.
      this.rt.setTimer(this.rt.random.nextInt(30), () => {
        this.net.send(others[this.rt.random.nextInt(others.length)]!, { type: 'ping', counter: this.counter });
      }, 'regossip');
    }
  }

  private async receive(msg: Gossip, from: number): Promise<void> {
    await jitter();
    if (msg.counter > this.best) {
      this.best = msg.counter;
      await this.db.put('best', String(this.best));
      this.rt.note(`best ${this.best} from ${from}`);
    }
    if (msg.type === 'ping') this.net.send(from, { type: 'pong', counter: this.counter });
  }
}

interface Outcome {
  hash: string;
  events: number;
  states: string[];
}

/** One full run of the toy protocol from `seed`; `traceFile` optionally streams the trace. */
async function gossipRun(seed: number, traceFile?: string): Promise<Outcome & { sim: Sim }> {
  const dir = join(WORK_DIR, `run-${runCounter++}`);
  mkdirSync(dir, { recursive: true });
  const sim = new Sim({ seed, traceFile });
  const ids = [1, 2, 3, 4, 5];
  const network = new SimNetwork<Gossip>(sim, {
    minLatencyMs: 1,
    maxLatencyMs: 20,
    reorderProbability: 0.1,
    reorderExtraMs: 60,
    describe: (m) => `${m.type} ${m.counter}`,
    classify: (m) => (m.type === 'ping' ? 'request' : 'reply'),
  });
  for (const id of ids) {
    sim.addNode(id, {
      start: async (rt) => {
        const node = new GossipNode(rt, new ClassicLevel<string, string>(join(dir, `node${id}`)), network, ids);
        await node.open();
        return node;
      },
      kill: (node) => node.db.close(),
    });
  }
  await sim.main(
    async () => {
      for (const id of ids) await sim.startNode(id);
      network.addFilter(dropRandomly({ requests: 0.1, replies: 0.1 }));
      let cut: FilterHandle | undefined;
      let victim = 0;
      for (let round = 0; round < 10; round++) {
        await sim.sleep(200 + sim.random.nextInt(100));
        cut?.remove();
        cut = undefined;
        if (sim.random.nextInt(2) === 0) {
          // A random two-sided partition.
          const [sideA, sideB] = randomSplit(ids, sim.random);
          cut = network.addFilter(partition(sideA, sideB));
        }
        if (round === 3) {
          victim = ids[sim.random.nextInt(ids.length)]!;
          await sim.crash(victim);
        }
        if (round === 6) await sim.startNode(victim);
      }
    },
    { maxVirtualMs: 10_000 },
  );
  const states = ids.map((id) => {
    const node = sim.instance<GossipNode>(id);
    return `${id}:${node.counter}/${node.best}`;
  });
  for (const id of ids) await sim.crash(id); // closes the engines
  sim.close();
  return { sim, hash: sim.traceHash(), events: sim.trace.count, states };
}

describe('determinism', () => {
  test('same seed, same trace hash (twice); different seed, different hash', async () => {
    const first = await gossipRun(4242);
    const second = await gossipRun(4242);
    const other = await gossipRun(4243);
    expect(first.events).toBeGreaterThan(500); // a real workload ran
    expect(first.sim.lastEvents(1000).some((r) => r.k === 'crash')).toBe(true);
    expect(second.hash).toBe(first.hash);
    expect(second.events).toBe(first.events);
    expect(second.states).toEqual(first.states);
    expect(other.hash).not.toBe(first.hash);
  });

  test('the JSONL trace holds every record and reproduces the hash', async () => {
    const file = join(WORK_DIR, 'trace.jsonl');
    const run = await gossipRun(7, file);
    const records = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TraceRecord);
    expect(records).toHaveLength(run.events);
    expect(records.map((r) => r.i)).toEqual([...Array(run.events).keys()]);
    const hasher = createHash('sha256');
    for (const rec of records) hasher.update(canonicalText(rec));
    expect(hasher.digest('hex').slice(0, 16)).toBe(run.hash);
    expect(records.some((r) => r.k === 'drop')).toBe(true);
    expect(records.some((r) => r.k === 'note' && r.d.startsWith('best'))).toBe(true);
    // The trace is also what runs of the same seed share record for record.
    const again = await gossipRun(7);
    expect(again.sim.lastEvents(50)).toEqual(records.slice(-50));
  });

  test('runSimTest reports seed and hash, and replays the same hash from the same seed', async () => {
    const body = async (sim: Sim) => {
      const net = new SimNetwork<number>(sim, { describe: String });
      const got: number[] = [];
      for (const id of [1, 2]) {
        sim.addNode(id, {
          start: (rt) => {
            const t = net.transport(rt);
            t.listen((n) => void got.push(n));
            rt.every(10, () => t.send(3 - id, rt.random.nextInt(100)));
            return t;
          },
        });
        await sim.startNode(id);
      }
      await sim.sleep(500);
      return got.length;
    };
    const a = await runSimTest(body, { maxVirtualMs: 1000, seed: 99 });
    const b = await runSimTest(body, { maxVirtualMs: 1000, seed: 99 });
    expect(a.value).toBeGreaterThan(80);
    expect(a.seed).toBe(99);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.events).toBe(a.events);
    expect(a.virtualMs).toBe(500);
  });
});
