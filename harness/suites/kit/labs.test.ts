import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildLabs, checkLabs, findEscapingImports, runGenerate, walkFiles, writeLabs } from '../../labs/generate.ts';
import { MarkerErrors, parseMarkers, transformSource } from '../../labs/markers.ts';
import { LABS, STAGE_IDS, getLab, labFirstStageIndex, resolveTarget, stageIndex } from '../../labs/stages.ts';

/** Index that stubs the blocks of `stage` and later. */
const from = (stage: string): number => stageIndex(stage);
const KEEP_ALL = STAGE_IDS.length;

/** The problems (file:line: message) a source raises, or [] if it parses. */
function markerErrors(text: string, file = 'raft/log.ts'): string[] {
  try {
    parseMarkers(text, file);
    return [];
  } catch (err) {
    if (!(err instanceof MarkerErrors)) throw err;
    return err.errors.map((e) => e.message);
  }
}

const SAMPLE = [
  "import { NotImplemented } from '../util/not-implemented.ts';",
  '',
  'export class RaftLog {',
  '  append(ents: number[]): number {',
  '    // @student 2AB begin: append ents after the entries they follow; return the last index.',
  '    this.entries.push(...ents);',
  '    return this.entries.length;',
  '    // @student 2AB stub',
  "    //| throw new NotImplemented('2AB', 'RaftLog.append');",
  '    // @student 2AB end',
  '  }',
  '',
  '  tick(): void {',
  '    // @student 2AA begin: advance the election clock.',
  '    this.elapsed++;',
  '    // @student 2AA stub',
  '    // @student 2AA end',
  '  }',
  '',
  '  lastIndex(): number {',
  '    // @student 1 begin',
  '    return this.entries.length;',
  '    // @student 1 stub',
  '    //| if (this.entries.length > 0) {',
  '    //|   return 0;',
  '    //| }',
  '    //|',
  '    //| return -1;',
  '    // @student 1 end',
  '  }',
  '}',
  '',
].join('\n');

describe('stages and labs', () => {
  it('orders stages and maps each lab to its first stubbed stage', () => {
    expect(STAGE_IDS).toEqual(['1', '2AA', '2AB', '2AC', '2B', '2C', '3A', '3B', '3C', '4A', '4B', '4C']);
    expect(LABS.map((l) => l.id)).toEqual(['1', '2a', '2b', '2c', '3a', '3b', '3c', '4a', '4b', '4c']);
    expect(STAGE_IDS[labFirstStageIndex(getLab('2a'))]).toBe('2AA');
    expect(STAGE_IDS[labFirstStageIndex(getLab('2b'))]).toBe('2B');
    expect(STAGE_IDS[labFirstStageIndex(getLab('4c'))]).toBe('4C');
    expect(() => getLab('2aa')).toThrow(/unknown lab '2aa'/);
  });

  it('resolves make targets to suites and default lab copies', () => {
    const twoA = resolveTarget('2a');
    expect(twoA?.stages.map((s) => s.suiteDir)).toEqual(['2aa', '2ab', '2ac']);
    expect(twoA?.lab.id).toBe('2a');
    const twoAb = resolveTarget('project2AB');
    expect(twoAb?.stages.map((s) => s.suiteDir)).toEqual(['2ab']);
    expect(twoAb?.lab.id).toBe('2a');
    expect(resolveTarget('3b')?.lab.id).toBe('3b');
    expect(resolveTarget('5a')).toBeUndefined();
  });
});

describe('marker transform', () => {
  it('stubs the blocks of the lab stage and later, keeping indentation and removing the //| prefix', () => {
    const out = transformSource(SAMPLE, 'raft/log.ts', from('2AA'));
    expect(out).toBe(
      [
        "import { NotImplemented } from '../util/not-implemented.ts';",
        '',
        'export class RaftLog {',
        '  append(ents: number[]): number {',
        '    // Your code here (2AB): append ents after the entries they follow; return the last index.',
        "    throw new NotImplemented('2AB', 'RaftLog.append');",
        '  }',
        '',
        '  tick(): void {',
        '    // Your code here (2AA): advance the election clock.',
        '  }',
        '',
        '  lastIndex(): number {',
        '    return this.entries.length;',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('keeps relative indentation and blank lines inside a stub, and writes a guidance line without text', () => {
    const out = transformSource(SAMPLE, 'raft/log.ts', from('1'));
    expect(out).toContain(
      ['    // Your code here (1).', '    if (this.entries.length > 0) {', '      return 0;', '    }', '', '    return -1;', '  }'].join('\n'),
    );
  });

  it('keeps every reference block and drops every marker line for a lab after all the stages', () => {
    const out = transformSource(SAMPLE, 'raft/log.ts', KEEP_ALL);
    expect(out).not.toMatch(/@student|\/\/\||Your code here/);
    expect(out).toContain('    this.entries.push(...ents);\n    return this.entries.length;\n  }');
    expect(out).toContain('    this.elapsed++;\n  }');
  });

  it('keeps the blocks of earlier stages and stubs the later ones (lab 2b)', () => {
    const out = transformSource(SAMPLE, 'raft/log.ts', from('2B'));
    expect(out).not.toContain('Your code here');
    const early = transformSource(SAMPLE, 'raft/log.ts', from('2AB'));
    expect(early).toContain('this.elapsed++;');
    expect(early).toContain('// Your code here (2AB)');
    expect(early).not.toContain('this.entries.push(...ents);');
  });

  it('delimits every block, stubbed or kept, with its guidance and an end comment when asked (lab copies)', () => {
    const out = transformSource(SAMPLE, 'raft/log.ts', from('2AB'), { markBlocks: true });
    expect(out).toContain(['    // Your code here (2AA): advance the election clock.', '    this.elapsed++;', '    // End of your code (2AA).'].join('\n'));
    expect(out).toContain(
      [
        '    // Your code here (2AB): append ents after the entries they follow; return the last index.',
        "    throw new NotImplemented('2AB', 'RaftLog.append');",
        '    // End of your code (2AB).',
      ].join('\n'),
    );
    expect(out).not.toMatch(/@student|\/\/\|/);
  });

  it('leaves a file without markers unchanged, byte for byte', () => {
    const text = 'export const x = 1;\r\n// a comment about @student work\n\nexport function f(): void {}\n';
    expect(transformSource(text, 'a.ts', 0)).toBe(text);
  });

  it('records the blocks it parsed', () => {
    const parsed = parseMarkers(SAMPLE, 'raft/log.ts');
    expect(parsed.blocks.map((b) => [b.stage, b.line, b.stubLines.length])).toEqual([
      ['2AB', 5, 1],
      ['2AA', 14, 0],
      ['1', 21, 5],
    ]);
  });
});

describe('marker errors name file:line', () => {
  const block = (stage: string, body: string[]): string[] => [`  // @student ${stage} begin: do it`, '  doIt();', `  // @student ${stage} stub`, ...body, `  // @student ${stage} end`];

  it('accepts a well-formed block', () => {
    expect(markerErrors(block('2B', ["  //| throw new Error('x');"]).join('\n'))).toEqual([]);
  });

  it('reports a begin without an end (unbalanced)', () => {
    const text = ['function f() {', '  // @student 2B begin: x', '  doIt();', '  // @student 2B stub', '  //| return;', '}'].join('\n');
    expect(markerErrors(text)).toEqual([
      "raft/log.ts:6: code line in the stub section of the 2B block opened at line 2; stub lines start with '//| ', reference code goes before the stub marker (or is the end marker missing?)",
      "raft/log.ts:2: unbalanced marker: the 2B block opened here has no '// @student 2B end'",
    ]);
    expect(markerErrors('// @student 2C begin\nx();\n')).toEqual(["raft/log.ts:1: unbalanced marker: the 2C block opened here has no '// @student 2C end'"]);
  });

  it('reports an end or stub without a begin', () => {
    expect(markerErrors('x();\n// @student 2B end\n')).toEqual(["raft/log.ts:2: '@student 2B end' without a matching '@student 2B begin'"]);
    expect(markerErrors('\n\n// @student 3A stub\n')).toEqual(["raft/log.ts:3: '@student 3A stub' without a matching '@student 3A begin'"]);
  });

  it('reports nested blocks', () => {
    const text = ['// @student 2B begin', '// @student 2C begin', '// @student 2C stub', '// @student 2C end', '// @student 2B stub', '// @student 2B end'].join('\n');
    const errors = markerErrors(text);
    expect(errors[0]).toBe("raft/log.ts:2: nested marker: '@student 2C begin' inside the 2B block opened at line 1; blocks cannot nest");
  });

  it('reports mismatched stages', () => {
    const text = ['// @student 2B begin', 'x();', '// @student 2C stub', '// @student 2B stub', '// @student 2B end'].join('\n');
    expect(markerErrors(text)).toEqual(["raft/log.ts:3: mismatched marker: '@student 2C stub' inside the 2B block opened at line 1"]);
  });

  it('reports unknown stage ids, and only once for a whole block', () => {
    const errors = markerErrors(block('2D', ['  //| return;']).join('\n'));
    expect(errors).toHaveLength(3);
    expect(errors[0]).toBe('raft/log.ts:1: unknown stage id \'2D\' (known: 1 2AA 2AB 2AC 2B 2C 3A 3B 3C 4A 4B 4C)');
    expect(errors.every((e) => e.includes("unknown stage id '2D'"))).toBe(true);
    expect(markerErrors('// @student 2ab begin\n// @student 2ab stub\n// @student 2ab end')[0]).toMatch(/^raft\/log\.ts:1: unknown stage id '2ab'/);
  });

  it('reports stub lines outside a stub section', () => {
    expect(markerErrors('const a = 1;\n//| return 2;\n')).toEqual(["raft/log.ts:2: stub line '//| return 2;' outside a stub section"]);
    const inReference = ['// @student 4A begin', '//| early();', '// @student 4A stub', '// @student 4A end'].join('\n');
    expect(markerErrors(inReference)).toEqual(["raft/log.ts:2: stub line '//| early();' in the reference part of the 4A block opened at line 1 (before its stub marker)"]);
  });

  it('reports a block without a stub section', () => {
    expect(markerErrors(['// @student 4B begin: x', 'x();', '// @student 4B end'].join('\n'))).toEqual([
      "raft/log.ts:3: missing stub section: the 4B block opened at line 1 ends without a '// @student 4B stub' marker",
    ]);
  });

  it('reports code in a stub section, a second stub marker, and malformed markers', () => {
    expect(markerErrors(block('3B', ['  notAStubLine();']).join('\n'))).toEqual([
      "raft/log.ts:4: code line in the stub section of the 3B block opened at line 1; stub lines start with '//| ', reference code goes before the stub marker (or is the end marker missing?)",
    ]);
    expect(markerErrors(block('3B', ['  // @student 3B stub']).join('\n'))).toEqual(['raft/log.ts:4: second stub marker in the 3B block opened at line 1 (first at line 3)']);
    expect(markerErrors('// @student 3B start\n')[0]).toMatch(/^raft\/log\.ts:1: malformed marker '\/\/ @student 3B start'/);
    expect(markerErrors(block('3B', ['  //|x']).join('\n'))).toEqual(["raft/log.ts:4: malformed stub line '//|x'; write '//| ' followed by the code"]);
    expect(markerErrors('// @student 3B begin\n// @student 3B stub: no\n// @student 3B end\n')).toEqual([
      "raft/log.ts:2: only a begin marker takes guidance text ('stub' has ': ...')",
    ]);
  });

  it('reports every problem of a file at once', () => {
    const text = ['//| a();', '// @student 9Z begin', '// @student 9Z stub', '// @student 9Z end', '// @student 2B end'].join('\n');
    expect(markerErrors(text).map((e) => e.split(':').slice(0, 2).join(':'))).toEqual(['raft/log.ts:1', 'raft/log.ts:2', 'raft/log.ts:3', 'raft/log.ts:4', 'raft/log.ts:5']);
  });
});

describe('lab generation on a fixture tree', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A temp repository root with reference/ holding the given files. */
  function fixture(files: Record<string, string>): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-labs-'));
    dirs.push(root);
    for (const [rel, text] of Object.entries(files)) {
      const abs = path.join(root, 'reference', rel);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, text);
    }
    return root;
  }

  const FILES = {
    'raft/log.ts': SAMPLE,
    'kv/notes.txt': '// @student 2B begin (not a .ts file: copied as is)\n',
    'util/x.ts': 'export const x = 1;\n',
    'bin/run.ts': '#!/usr/bin/env tsx\nconsole.log(1);\n',
  };

  it('writes a full copy of reference/ for every lab, transformed per lab, with a README', () => {
    const root = fixture(FILES);
    fs.chmodSync(path.join(root, 'reference/bin/run.ts'), 0o755);
    const result = runGenerate({ check: false, root });
    expect(result.ok).toBe(true);
    expect(fs.readdirSync(path.join(root, 'labs')).sort()).toEqual(['.generated.sha256', '1', '2a', '2b', '2c', '3a', '3b', '3c', '4a', '4b', '4c']);
    expect(fs.readFileSync(path.join(root, 'labs/.generated.sha256'), 'utf8')).toMatch(/^[0-9a-f]{64} {2}1\/README\.md$/m);
    expect(walkFiles(path.join(root, 'labs/2b'))).toEqual(['README.md', 'bin/run.ts', 'kv/notes.txt', 'raft/log.ts', 'tsconfig.json', 'util/x.ts']);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'labs/2b/tsconfig.json'), 'utf8'))).toEqual({
      extends: '../../tsconfig.json',
      compilerOptions: { paths: { '@impl/*': ['labs/2b/*'] } },
      include: ['.'],
      exclude: [],
    });
    const marked = { markBlocks: true };
    expect(fs.readFileSync(path.join(root, 'labs/2a/raft/log.ts'), 'utf8')).toBe(transformSource(SAMPLE, 'raft/log.ts', from('2AA'), marked));
    expect(fs.readFileSync(path.join(root, 'labs/1/raft/log.ts'), 'utf8')).toBe(transformSource(SAMPLE, 'raft/log.ts', from('1'), marked));
    expect(fs.readFileSync(path.join(root, 'labs/3a/raft/log.ts'), 'utf8')).toBe(transformSource(SAMPLE, 'raft/log.ts', KEEP_ALL, marked));
    expect(fs.readFileSync(path.join(root, 'labs/2a/kv/notes.txt'), 'utf8')).toBe(FILES['kv/notes.txt']);
    expect(fs.statSync(path.join(root, 'labs/4c/bin/run.ts')).mode & 0o111).not.toBe(0);
    expect(fs.statSync(path.join(root, 'labs/4c/util/x.ts')).mode & 0o111).toBe(0);

    const readme = fs.readFileSync(path.join(root, 'labs/2a/README.md'), 'utf8');
    expect(readme).toContain('# TinyKV-TS lab 2a: stages 2AA, 2AB, 2AC');
    expect(readme).toContain('Stages before this lab (1) keep the reference code.');
    expect(readme).toContain('Stubbed: 2AA, 2AB, 2AC (this lab) and the later stages 2B, 2C, 3A, 3B, 3C, 4A, 4B, 4C.');
    expect(readme).toContain('| 2AB | Raft: log replication | raft/log.ts (1) |');
    expect(readme).toContain('| 2B | Raftstore: a fault-tolerant KV on one raft group | no stubs yet |');
    expect(readme).toContain('make project2a ');
    const readme4c = fs.readFileSync(path.join(root, 'labs/4c/README.md'), 'utf8');
    expect(readme4c).toContain('Stubbed: 4C (this lab).');
    expect(readme4c).toContain('make project4c ');
  });

  it('is deterministic: two builds give the same bytes in the same order', () => {
    const root = fixture(FILES);
    const a = buildLabs(path.join(root, 'reference'));
    const b = buildLabs(path.join(root, 'reference'));
    expect([...a.labs.keys()]).toEqual([...b.labs.keys()]);
    for (const [lab, tree] of a.labs) {
      const other = b.labs.get(lab)!;
      expect([...tree.keys()]).toEqual([...other.keys()]);
      expect([...tree.keys()]).toEqual([...tree.keys()].sort());
      for (const [rel, file] of tree) expect(file.content.equals(other.get(rel)!.content)).toBe(true);
    }
  });

  it('replaces stale files, and check lists every differing, missing and extra file', () => {
    const root = fixture(FILES);
    expect(runGenerate({ check: false, root }).ok).toBe(true);
    expect(runGenerate({ check: true, root })).toEqual({ ok: true, lines: [expect.stringContaining('labs-check: labs/ matches reference/')] });

    fs.writeFileSync(path.join(root, 'labs/2b/raft/log.ts'), 'edited by hand\n');
    fs.rmSync(path.join(root, 'labs/3c/util/x.ts'));
    fs.writeFileSync(path.join(root, 'labs/1/stale.ts'), 'left over\n');
    fs.mkdirSync(path.join(root, 'labs/2aa'));
    fs.writeFileSync(path.join(root, 'labs/2aa/old.ts'), 'not a lab\n');
    const generated = buildLabs(path.join(root, 'reference'));
    expect(checkLabs(generated, path.join(root, 'labs'))).toEqual([
      { path: '1/stale.ts', kind: 'extra' },
      { path: '2aa/old.ts', kind: 'extra' },
      { path: '2b/raft/log.ts', kind: 'differs' },
      { path: '3c/util/x.ts', kind: 'missing' },
    ]);
    const check = runGenerate({ check: true, root });
    expect(check.ok).toBe(false);
    expect(check.lines.slice(-3).join('\n')).toMatch(/run `make labs` and commit labs\/.*\n.*a handout of your lab/);
    expect(check.lines.slice(1, -3)).toEqual([
      '  labs/1/stale.ts: extra (reference/ does not generate it)',
      '  labs/2aa/old.ts: extra (reference/ does not generate it)',
      '  labs/2b/raft/log.ts: differs from what reference/ generates',
      '  labs/3c/util/x.ts: missing',
    ]);

    // Writing refuses to overwrite or delete what changed since it wrote labs/, and writes nothing...
    const refused = runGenerate({ check: false, root });
    expect(refused.ok).toBe(false);
    expect(refused.lines.slice(1, 4)).toEqual(['  labs/1/stale.ts', '  labs/2aa/old.ts', '  labs/2b/raft/log.ts']);
    expect(refused.lines.join('\n')).toMatch(/nothing was written.*\n.*make handout LAB=<lab> OUT=<dir>.*FORCE=1/);
    expect(fs.readFileSync(path.join(root, 'labs/2b/raft/log.ts'), 'utf8')).toBe('edited by hand\n');
    // ...until told to.
    expect(runGenerate({ check: false, force: true, root }).ok).toBe(true);
    expect(checkLabs(generated, path.join(root, 'labs'))).toEqual([]);
    expect(fs.existsSync(path.join(root, 'labs/2aa'))).toBe(false);
    expect(fs.existsSync(path.join(root, '.tmp/labs-gen'))).toBe(false);

    // A file removed from reference/ disappears from every lab.
    fs.rmSync(path.join(root, 'reference/util/x.ts'));
    expect(runGenerate({ check: false, root }).ok).toBe(true);
    expect(fs.existsSync(path.join(root, 'labs/4a/util/x.ts'))).toBe(false);
  });

  it('refuses to generate when a file has marker errors, listing them with reference/ paths, and leaves labs/ alone', () => {
    const root = fixture({ ...FILES, 'raft/bad.ts': 'x();\n// @student 2B stub\n', 'kv/bad2.ts': '// @student 5A begin\n// @student 5A stub\n// @student 5A end\n' });
    fs.mkdirSync(path.join(root, 'labs/1'), { recursive: true });
    fs.writeFileSync(path.join(root, 'labs/1/keep.ts'), 'untouched\n');
    const result = runGenerate({ check: false, root });
    expect(result.ok).toBe(false);
    expect(result.lines[0]).toBe('labs: reference/ has marker errors, no lab generated:');
    expect(result.lines).toContain("  reference/raft/bad.ts:2: '@student 2B stub' without a matching '@student 2B begin'");
    expect(result.lines.filter((l) => l.startsWith('  reference/kv/bad2.ts:'))).toHaveLength(3);
    expect(fs.readFileSync(path.join(root, 'labs/1/keep.ts'), 'utf8')).toBe('untouched\n');
  });

  it('refuses relative imports that leave reference/ (they would break one level deeper in labs/)', () => {
    const text = "import { a } from './a.ts';\nimport { Cluster } from '../../harness/cluster/cluster.ts';\nexport * from '../util/x.ts';\n";
    expect(findEscapingImports(text, 'kv/server.ts', 'reference/kv/server.ts').map((e) => e.message)).toEqual([
      "reference/kv/server.ts:2: import '../../harness/cluster/cluster.ts' leaves reference/; lab copies sit one level deeper, so use a package import ('#proto') or keep the code inside reference/",
    ]);
    const root = fixture({ 'kv/server.ts': text, 'util/x.ts': '' });
    expect(() => buildLabs(path.join(root, 'reference'))).toThrow(/reference\/kv\/server\.ts:2: import '\.\.\/\.\.\/harness/);
  });

  it('replaces an old lab copy as a whole and leaves no temp dir behind', () => {
    const root = fixture(FILES);
    const generated = buildLabs(path.join(root, 'reference'));
    const labsDir = path.join(root, 'labs');
    const tmpDir = path.join(root, '.tmp', 'gen');
    fs.mkdirSync(path.join(labsDir, '2c'), { recursive: true });
    fs.writeFileSync(path.join(labsDir, '2c', 'old-only.ts'), 'old\n');
    writeLabs(generated, labsDir, tmpDir);
    expect(fs.existsSync(path.join(labsDir, '2c', 'old-only.ts'))).toBe(false);
    expect(checkLabs(generated, labsDir)).toEqual([]);
    expect(fs.existsSync(tmpDir)).toBe(false);
  });
});
