/**
 * Kit: the retention policy (harness/retention.ts) that bounds what runs keep in .tmp: the newest entries stay,
 * by count and by bytes, and the entry just written is never deleted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prune } from '../../retention.ts';

let dir = '';
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Entries a (oldest) .. e (newest), each a directory holding `kb` KB. */
function entries(kb: number): void {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retention-kit-'));
  ['a', 'b', 'c', 'd', 'e'].forEach((name, i) => {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'data'), Buffer.alloc(kb * 1024));
    const t = new Date(Date.UTC(2026, 0, 1, 0, i));
    fs.utimesSync(path.join(dir, name), t, t);
  });
}

describe('kit: retention', () => {
  it('keeps the newest entries by count', () => {
    entries(1);
    expect(prune(dir, { keep: 3 }).sort()).toEqual(['a', 'b']);
    expect(fs.readdirSync(dir).sort()).toEqual(['c', 'd', 'e']);
  });

  it('keeps the newest entries by bytes, and never the protected one', () => {
    entries(100);
    // 250 KB holds two of the 100 KB entries; the protected oldest one stays and does not count.
    expect(prune(dir, { keep: 10, maxBytes: 250 * 1024 }, ['a']).sort()).toEqual(['b', 'c']);
    expect(fs.readdirSync(dir).sort()).toEqual(['a', 'd', 'e']);
  });
});
