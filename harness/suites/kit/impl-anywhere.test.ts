/**
 * IMPL may point anywhere: a copy of an implementation outside the repository (no package.json, no
 * node_modules beside it) runs under vitest, under the grader, and as a server binary, its `#proto` and
 * package imports resolved from the kit (harness/tools/impl-resolution.ts, impl-hooks.ts).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { grade } from '../../grader/grade.ts';
import { selectStages } from '../../grader/plan.ts';
import { isBarePackage, kitResolution } from '../../tools/impl-resolution.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'impl-anywhere-'));
const copy = path.join(outside, 'my-lab');
fs.cpSync(path.join(ROOT, 'reference'), copy, { recursive: true });
afterAll(() => fs.rmSync(outside, { recursive: true, force: true }));

describe('resolving what an implementation outside the kit imports', () => {
  it('tells bare packages from paths, URLs, builtins and the kit aliases', () => {
    for (const bare of ['protobufjs', '@grpc/grpc-js', 'classic-level', '@grpc/grpc-js/build/src/x.js']) expect(isBarePackage(bare)).toBe(true);
    for (const other of ['./x.ts', '../y.ts', '/abs/z.ts', 'node:fs', 'file:///a.ts', '#proto', '@impl/kv/x.ts']) expect(isBarePackage(other)).toBe(false);
  });

  it('sends #proto to the kit and resolves packages from the kit root, only for files outside the kit', () => {
    const importer = path.join(copy, 'kv/server/server.ts');
    expect(kitResolution('#proto', importer, ROOT)).toEqual({ specifier: path.join(ROOT, 'proto/index.ts'), importer });
    expect(kitResolution('#proto/kvrpcpb.ts', importer, ROOT)?.specifier).toBe(path.join(ROOT, 'proto/kvrpcpb.ts'));
    expect(kitResolution('@grpc/grpc-js', importer, ROOT)).toEqual({ specifier: '@grpc/grpc-js', importer: path.join(ROOT, 'package.json') });
    expect(kitResolution('./storage.ts', importer, ROOT)).toBeUndefined();
    expect(kitResolution('#proto', path.join(ROOT, 'labs/1/kv/server/server.ts'), ROOT)).toBeUndefined();
  });
});

describe('a copy outside the repository', () => {
  it('passes stage 1 end to end under vitest, its server and tinykv-ctl run as node processes', () => {
    const vitest = path.join(ROOT, 'node_modules/vitest/vitest.mjs');
    const result = spawnSync(process.execPath, [vitest, 'run', 'harness/suites/1/grpc-e2e.test.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, IMPL: copy, FORCE_COLOR: '0' },
      timeout: 120_000,
    });
    const output = (result.stdout + result.stderr).replace(/\u001b\[[0-9;]*m/g, '');
    expect(output).toMatch(/Tests\s+5 passed/);
    expect(output).not.toMatch(/Cannot find module|failed/);
    expect(result.status).toBe(0);
  }, 150_000);

  it('is graded: the grader workers resolve its imports too', async () => {
    const outDir = fs.mkdtempSync(path.join(outside, 'grade-'));
    const state = await grade({
      root: ROOT,
      stages: selectStages(ROOT, '2b'),
      implLabel: copy,
      implDir: copy,
      runs: 1,
      jobs: 1,
      run: /^TestBasic2B$/,
      baseSeed: 3,
      swarm: false,
      untilFail: false,
      outDir,
    });
    const ran = state.tests.filter((t) => t.passed + t.failed.length > 0);
    expect(ran.map((t) => t.test.fullName)).toEqual(['TestBasic2B']);
    expect(ran[0]!.failed).toEqual([]);
  }, 150_000);
});
