// Shared setup of the Project 1 suites: a StandaloneStorage on a fresh temporary directory, and byte helpers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StandaloneStorage } from '@impl/kv/storage/standalone-storage.ts';
import { Server } from '@impl/kv/server/server.ts';
import type { ColumnFamily, DBIterator, StorageReader } from '@impl/kv/storage/storage.ts';

/** A fresh temporary directory; remove it with removeDir. */
export async function makeTempDir(label: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `tinykv-${label}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface Fixture {
  dir: string;
  storage: StandaloneStorage;
  server: Server;
  /** Stop the storage and delete its directory. */
  cleanup(): Promise<void>;
}

/** A started StandaloneStorage in a temp dir with a Server on top, like TinyKV's test setup. */
export async function startFixture(): Promise<Fixture> {
  const dir = await makeTempDir('p1');
  const storage = new StandaloneStorage(path.join(dir, 'db'));
  await storage.start();
  const server = new Server(storage);
  return {
    dir,
    storage,
    server,
    async cleanup() {
      await storage.stop();
      await removeDir(dir);
    },
  };
}

/** Write one key straight into the storage (TinyKV's Set helper). */
export async function set(storage: StandaloneStorage, cf: ColumnFamily, key: Uint8Array, value: Uint8Array): Promise<void> {
  await storage.write(undefined, [{ type: 'put', cf, key, value }]);
}

/** Read one key straight from the storage (TinyKV's Get helper). */
export async function get(storage: StandaloneStorage, cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array | undefined> {
  const reader = await storage.reader(undefined);
  try {
    return await reader.getCF(cf, key);
  } finally {
    await reader.close();
  }
}

/** An iterator over `cf` of a fresh reader (TinyKV's Iter helper); close both with the returned function. */
export async function iter(storage: StandaloneStorage, cf: ColumnFamily): Promise<{ it: DBIterator; reader: StorageReader }> {
  const reader = await storage.reader(undefined);
  return { it: reader.iterCF(cf), reader };
}

/** Bytes as a plain number array, so expectations compare contents whatever the array class (Buffer or Uint8Array). */
export function bytes(b: Uint8Array | undefined | null): number[] | undefined {
  return b === undefined || b === null ? undefined : [...b];
}

export const b = (...values: number[]): Uint8Array => Uint8Array.from(values);
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
