import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatViolation, scanReference, scanSource } from '../../labs/determinism.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('determinism rule scanner', () => {
  it('finds calls and references of the forbidden globals, with their lines', () => {
    const src = [
      'const a = Date.now();',
      'const pick = Math.random;',
      'setTimeout(() => {}, 10);',
      'const h = setInterval(tick, 5);',
      'globalThis.setImmediate(run);',
      "import { setTimeout as sleep } from 'node:timers/promises';",
    ].join('\n');
    const found = scanSource(src, 'x.ts').map(formatViolation);
    expect(found).toEqual([
      'x.ts:1: Date.now',
      'x.ts:2: Math.random',
      'x.ts:3: setTimeout',
      'x.ts:4: setInterval',
      'x.ts:5: globalThis.setImmediate',
      "x.ts:6: import from 'node:timers/promises'",
      'x.ts:6: import of setTimeout',
    ]);
  });

  it('ignores comments, strings and members of the injected runtime that share a name', () => {
    const src = [
      '// never call Date.now() or setTimeout( here',
      '/* Math.random() is banned */',
      "const msg = 'use runtime instead of setInterval(';",
      'const t = `Date.now()`;',
      'runtime.setTimeout(cb, 10);',
      'this.clock.setImmediate(cb);',
      'interface Timers { setTimeout(cb: () => void, ms: number): number; setInterval: number }',
      'class Fake { setTimeout(cb: () => void): void { cb(); } }',
      'const o = { setImmediate: 1 };',
      'const d = new Date(0);',
    ].join('\n');
    expect(scanSource(src, 'y.ts')).toEqual([]);
  });

  it('reference/ (outside reference/runtime/) reads no clock, starts no timer and draws no unseeded random number', () => {
    const violations = scanReference(ROOT).map(formatViolation);
    expect(violations, `forbidden calls in reference/ (use the injected runtime and PRNG):\n${violations.join('\n')}`).toEqual([]);
  });
});
