/**
 * What the scheduler server keeps on disk, in one classic-level directory: the cluster id, whether it is
 * bootstrapped, every store, every region as last reported, the cluster config,
 * the GC safe point, and the bounds reserved for ids and timestamps. Leaders, pending peers, sizes and
 * operators are not kept: the stores report them again within a heartbeat after a restart.
 */
import { ClassicLevel } from 'classic-level';
import { decode, encode, metapb } from '#proto';

const KEY = {
  clusterId: 'cluster/id',
  bootstrapped: 'cluster/bootstrapped',
  config: 'cluster/config',
  idBound: 'alloc/id',
  tsoBound: 'alloc/tso',
  gcSafePoint: 'gc/safe-point',
  store: (id: number) => `store/${String(id).padStart(20, '0')}`,
  region: (id: number) => `region/${String(id).padStart(20, '0')}`,
};

/** The directory does not hold a scheduler's data we can read. */
export class MetaStoreError extends Error {
  override name = 'MetaStoreError';
}

export interface LoadedMeta {
  clusterId: number | undefined;
  bootstrapped: boolean;
  config: metapb.Cluster | undefined;
  idBound: number;
  tsoBoundMs: number;
  gcSafePoint: bigint;
  stores: metapb.Store[];
  regions: metapb.Region[];
}

export class MetaStore {
  private readonly db: ClassicLevel<string, Uint8Array>;
  /** The encoded region last written per id, so a flush writes only what changed. */
  private readonly writtenRegions = new Map<number, string>();

  constructor(readonly path: string) {
    this.db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' });
  }

  async open(): Promise<LoadedMeta> {
    try {
      await this.db.open();
    } catch (err) {
      throw new MetaStoreError(`cannot open the scheduler's data in ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    const number = async (key: string) => {
      const bytes = await this.db.get(key);
      if (bytes === undefined) return undefined;
      const value = Number(new TextDecoder().decode(bytes));
      if (!Number.isSafeInteger(value) || value < 0) throw new MetaStoreError(`${this.path}: ${key} holds ${JSON.stringify(new TextDecoder().decode(bytes))}, not a count`);
      return value;
    };
    const stores: metapb.Store[] = [];
    for await (const [, value] of this.db.iterator({ gte: 'store/', lt: 'store0' })) stores.push(decode('metapb.Store', value));
    const regions: metapb.Region[] = [];
    for await (const [, value] of this.db.iterator({ gte: 'region/', lt: 'region0' })) {
      const region = decode('metapb.Region', value);
      regions.push(region);
      this.writtenRegions.set(region.id, Buffer.from(value).toString('base64'));
    }
    const config = await this.db.get(KEY.config);
    const safePoint = await this.db.get(KEY.gcSafePoint);
    return {
      clusterId: await number(KEY.clusterId),
      bootstrapped: (await this.db.get(KEY.bootstrapped)) !== undefined,
      config: config === undefined ? undefined : decode('metapb.Cluster', config),
      idBound: (await number(KEY.idBound)) ?? 0,
      tsoBoundMs: (await number(KEY.tsoBound)) ?? 0,
      gcSafePoint: safePoint === undefined ? 0n : BigInt(new TextDecoder().decode(safePoint)),
      stores,
      regions,
    };
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async saveClusterId(id: number): Promise<void> {
    await this.putText(KEY.clusterId, String(id));
  }

  /** The first store and the mark, in one atomic write. */
  async saveBootstrap(store: metapb.Store): Promise<void> {
    await this.db.batch([
      { type: 'put', key: KEY.store(store.id), value: encode('metapb.Store', store) },
      { type: 'put', key: KEY.bootstrapped, value: new TextEncoder().encode('1') },
    ]);
  }

  async saveStore(store: metapb.Store): Promise<void> {
    await this.db.put(KEY.store(store.id), encode('metapb.Store', store));
  }

  async saveConfig(config: metapb.Cluster): Promise<void> {
    await this.db.put(KEY.config, encode('metapb.Cluster', config));
  }

  async saveIdBound(bound: number): Promise<void> {
    await this.putText(KEY.idBound, String(bound));
  }

  async saveTsoBound(boundMs: number): Promise<void> {
    await this.putText(KEY.tsoBound, String(boundMs));
  }

  async saveGcSafePoint(safePoint: bigint): Promise<void> {
    await this.putText(KEY.gcSafePoint, safePoint.toString());
  }

  /** Writes the regions that changed since the last flush and deletes those gone; returns how many writes. */
  async flushRegions(regions: readonly metapb.Region[]): Promise<number> {
    const ops: { type: 'put' | 'del'; key: string; value?: Uint8Array }[] = [];
    const next = new Map<number, string>();
    for (const region of regions) {
      const bytes = encode('metapb.Region', region);
      const text = Buffer.from(bytes).toString('base64');
      next.set(region.id, text);
      if (this.writtenRegions.get(region.id) !== text) ops.push({ type: 'put', key: KEY.region(region.id), value: bytes });
    }
    for (const id of this.writtenRegions.keys()) if (!next.has(id)) ops.push({ type: 'del', key: KEY.region(id) });
    if (ops.length === 0) return 0;
    await this.db.batch(ops.map((op) => (op.type === 'put' ? { type: 'put', key: op.key, value: op.value! } : { type: 'del', key: op.key })));
    this.writtenRegions.clear();
    for (const [id, text] of next) this.writtenRegions.set(id, text);
    return ops.length;
  }

  private async putText(key: string, text: string): Promise<void> {
    await this.db.put(key, new TextEncoder().encode(text));
  }
}
