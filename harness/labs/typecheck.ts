/**
 * Type-checks lab copies together with harness/ (integrity check (a)), one after another, in this process.
 *
 * Every lab is copied into the same scratch directory (.tmp/integrity/impl-XXXX, with `@impl/*` pointing at
 * it) and checked with TypeScript's incremental builder, the machinery behind `tsc --watch`: from one lab to
 * the next only the files that changed are re-checked, plus the files whose view of them changed (the builder
 * follows the import graph and the changed files' declaration signatures). Unchanged files are not parsed
 * again. The diagnostics are the ones a fresh `tsc -p` over that lab and harness/ reports; paths inside the
 * scratch directory are shown as labs/<lab>/... . Checking labs from the most complete (4c) to the most
 * stubbed (1) keeps each step small.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { listFiles } from './closure.ts';

export interface TypecheckResult {
  readonly ok: boolean;
  readonly errors: readonly string[];
}

/** Makes `dest` hold exactly the files of `src`, writing only files whose content changed. */
function mirrorDirectory(src: string, dest: string): void {
  const wanted = new Set(listFiles(src));
  for (const rel of listFiles(dest)) if (!wanted.has(rel)) fs.rmSync(path.join(dest, rel));
  for (const rel of wanted) {
    const content = fs.readFileSync(path.join(src, rel));
    const target = path.join(dest, rel);
    if (fs.existsSync(target) && fs.readFileSync(target).equals(content)) continue;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  }
}

export class LabTypechecker {
  private readonly root: string;
  private readonly scratch: string;
  private readonly configPath: string;
  private previous: ts.SemanticDiagnosticsBuilderProgram | undefined;
  /** Parsed files by name, kept while their text is unchanged. */
  private readonly sourceFiles = new Map<string, { text: string; file: ts.SourceFile }>();

  constructor(root: string) {
    this.root = root;
    const base = path.join(root, '.tmp', 'integrity');
    fs.mkdirSync(base, { recursive: true });
    this.scratch = fs.mkdtempSync(path.join(base, 'impl-'));
    this.configPath = `${this.scratch}.tsconfig.json`;
    const scratchRel = path.relative(root, this.scratch).split(path.sep).join('/');
    const tsconfig = {
      extends: path.join(root, 'tsconfig.json'),
      compilerOptions: { baseUrl: root, paths: { '@impl/*': [`${scratchRel}/*`] } },
      include: [this.scratch, path.join(root, 'harness')],
      exclude: [path.join(root, 'node_modules')],
    };
    fs.writeFileSync(this.configPath, `${JSON.stringify(tsconfig, null, 2)}\n`);
  }

  /** Type-checks the implementation directory `implDir` (relative to root, e.g. 'labs/2a') with harness/. */
  check(implDir: string): TypecheckResult {
    try {
      mirrorDirectory(path.join(this.root, implDir), this.scratch);
      return this.run(implDir);
    } catch (err) {
      this.previous = undefined;
      return { ok: false, errors: [`type-check crashed: ${(err as Error).message}`] };
    }
  }

  private run(implDir: string): TypecheckResult {
    const configErrors: ts.Diagnostic[] = [];
    const parsed = ts.getParsedCommandLineOfConfigFile(this.configPath, {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => configErrors.push(d),
    });
    if (!parsed) return { ok: false, errors: this.format(configErrors, implDir) };
    const host = ts.createIncrementalCompilerHost(parsed.options);
    const parse = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
      const text = host.readFile(fileName);
      const hit = this.sourceFiles.get(fileName);
      if (text !== undefined && hit && hit.text === text) return hit.file;
      const file = parse(fileName, languageVersion, onError, shouldCreate);
      if (file && text !== undefined) this.sourceFiles.set(fileName, { text, file });
      return file;
    };
    const builder = ts.createSemanticDiagnosticsBuilderProgram(parsed.fileNames, parsed.options, host, this.previous, ts.getConfigFileParsingDiagnostics(parsed), parsed.projectReferences);
    this.previous = builder;
    // The order tsc uses: configuration and syntax first; semantics only for a program that parses.
    const diagnostics = [...builder.getConfigFileParsingDiagnostics(), ...builder.getOptionsDiagnostics(), ...builder.getSyntacticDiagnostics()];
    if (diagnostics.length === 0) diagnostics.push(...builder.getGlobalDiagnostics(), ...builder.getSemanticDiagnostics());
    const errors = this.format(diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error), implDir);
    return { ok: errors.length === 0, errors };
  }

  /** `file(line,col): error TSnnnn: message` lines, with the scratch directory shown as implDir. */
  private format(diagnostics: readonly ts.Diagnostic[], implDir: string): string[] {
    const formatHost: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => this.root, getNewLine: () => '\n' };
    const scratchRel = path.relative(this.root, this.scratch).split(path.sep).join('/');
    return diagnostics.map((d) => ts.formatDiagnostic(d, formatHost).trim().split('\n').join(' ').split(this.scratch).join(path.join(this.root, implDir)).split(scratchRel).join(implDir));
  }

  /** Removes the scratch directory. */
  dispose(): void {
    fs.rmSync(this.scratch, { recursive: true, force: true });
    fs.rmSync(this.configPath, { force: true });
    this.previous = undefined;
    this.sourceFiles.clear();
  }
}
