// The class grader's distribution files: the GitHub Actions workflow (a matrix of shards, then a merge job)
// and the Kubernetes Indexed Job (the completion index becomes SHARD) with its merge Job. No validator for
// either runs offline here (actionlint, kubectl --dry-run need their tools or a cluster), so each file is
// parsed and its shard wiring checked: every index 0..n-1 graded once, with one seed base, then merged.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

function yamlFile(rel: string): Doc {
  const docs = parseAllDocuments(fs.readFileSync(path.join(ROOT, rel), 'utf8'));
  for (const d of docs) expect(d.errors, `${rel}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
  expect(docs).toHaveLength(1);
  return docs[0]!.toJS();
}

/**
 * The make variables a shell command line sets: "make grade-class STAGE=x SHARD=y" -> { STAGE: 'x', ... }.
 * GitHub expressions are written without their inner spaces: ${{ matrix.shard }} -> ${{matrix.shard}}.
 */
function makeVars(command: string): Record<string, string> {
  const vars: Record<string, string> = {};
  const compact = command.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, '$${{$1}}');
  for (const m of compact.matchAll(/\b([A-Z_]+)=("[^"]*"|\S+)/g)) vars[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return vars;
}

describe('kit: class grading on GitHub Actions', () => {
  const wf = yamlFile('.github/workflows/grade-class.yml');

  test('a matrix of every shard index, each grading its share with the shared seed, then a merge of all', () => {
    const shards = Number(wf.env.SHARDS);
    expect(shards).toBeGreaterThan(1);
    const grade = wf.jobs.grade;
    expect(grade.strategy.matrix.shard).toEqual(Array.from({ length: shards }, (_, i) => i));
    expect(grade.strategy['fail-fast']).toBe(false);
    const step = grade.steps.find((s: Doc) => typeof s.run === 'string' && s.run.includes('make grade-class'));
    const vars = makeVars(step.run);
    expect(vars.SHARD).toBe('${{matrix.shard}}/${{env.SHARDS}}');
    expect(vars.SEED).toBe('${{inputs.seed}}');
    expect(vars.STAGE).toBe('${{inputs.stage}}');
    const upload = grade.steps.find((s: Doc) => s.uses?.startsWith('actions/upload-artifact'));
    expect(upload.with.name).toBe('shard-${{ matrix.shard }}');
    expect(upload.with.path).toBe(vars.OUT);
    expect(grade.steps.some((s: Doc) => typeof s.run === 'string' && s.run.includes('bubblewrap'))).toBe(true);

    const merge = wf.jobs.merge;
    expect(merge.needs).toBe('grade');
    const download = merge.steps.find((s: Doc) => s.uses?.startsWith('actions/download-artifact'));
    expect(download.with.pattern).toBe('shard-*');
    const mergeStep = merge.steps.find((s: Doc) => typeof s.run === 'string' && s.run.includes('make grade-merge'));
    expect(makeVars(mergeStep.run).SHARDS).toBe(download.with.path);
    for (const input of ['stage', 'submissions', 'runs', 'seed']) expect(wf.on.workflow_dispatch.inputs[input]).toBeDefined();
  });
});

describe('kit: class grading on Kubernetes', () => {
  const job = yamlFile('deploy/k8s/grade-class.yaml');
  const merge = yamlFile('deploy/k8s/grade-merge.yaml');

  test('an Indexed Job whose completion index is the shard; the merge Job reads every shard', () => {
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(job.spec.completionMode).toBe('Indexed');
    const container = job.spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.map((e: Doc) => [e.name, e.value]));
    const shards = Number(env.SHARDS);
    expect(job.spec.completions).toBe(shards);
    expect(job.spec.parallelism).toBe(shards);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    const command = container.command.join(' ');
    const vars = makeVars(command);
    expect(vars.SHARD).toBe('$JOB_COMPLETION_INDEX/$SHARDS');
    expect(vars.SEED).toBe('$SEED');
    expect(vars.OUT).toBe('/results/shard-$JOB_COMPLETION_INDEX');
    expect(env.SEED).toMatch(/^\d+$/);
    const mounts = Object.fromEntries(container.volumeMounts.map((m: Doc) => [m.name, m]));
    expect(mounts.submissions.readOnly).toBe(true);
    expect(vars.SUBMISSIONS).toBe(mounts.submissions.mountPath);
    expect(vars.OUT.startsWith(`${mounts.results.mountPath}/`)).toBe(true);

    expect(merge.kind).toBe('Job');
    const mc = merge.spec.template.spec.containers[0];
    const mvars = makeVars(mc.command.join(' '));
    expect(mc.command.join(' ')).toContain('make grade-merge');
    expect(mvars.SHARDS).toBe(mounts.results.mountPath);
    expect(merge.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe(
      job.spec.template.spec.volumes.find((v: Doc) => v.name === 'results').persistentVolumeClaim.claimName,
    );
    expect(container.image).toBe(mc.image);
  });

  test('the image the manifests name is built by deploy/Dockerfile, with bubblewrap', () => {
    const docker = fs.readFileSync(path.join(ROOT, 'deploy/Dockerfile'), 'utf8');
    expect(docker).toMatch(/docker build -f deploy\/Dockerfile -t tinykv-ts-grader:latest/);
    expect(docker).toMatch(/apt-get install[^\n]*bubblewrap/);
    expect(docker).toMatch(/RUN npm ci/);
    expect(parse('a: 1')).toEqual({ a: 1 }); // the parser itself works
  });
});
