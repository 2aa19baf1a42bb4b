/**
 * The GUIDE.md of a handout: the kit's student chapters ("## For students") for the stages the handout
 * carries, and none of a later stage. The instructors' and architecture chapters stay in the kit.
 */
import { STAGES, stageIndex, type Lab } from '../labs/stages.ts';
import { HANDOUT_IMPL_DIR } from '../tools/default-impl.ts';

/** The first stage a student chapter belongs to (undefined: every handout has it), by its heading. */
function chapterStage(heading: string): number | undefined {
  const project = /^### Project (\d[A-C]?)/.exec(heading);
  if (project) {
    const index = STAGES.findIndex((s) => s.id.startsWith(project[1]!));
    return index < 0 ? undefined : index;
  }
  if (/^### Reading a cluster failure/.test(heading)) return stageIndex('2B');
  return undefined;
}

export function extractStudentGuide(guide: string, lab: Lab): string {
  const lines = guide.split('\n');
  const start = lines.findIndex((l) => l.startsWith('## For students'));
  if (start < 0) throw new Error('GUIDE.md has no "## For students" chapter');
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end < 0) end = lines.length;
  const last = stageIndex(lab.stages[lab.stages.length - 1]!);

  const out: string[] = [
    `# TinyKV-TS, lab ${lab.id}: the guide`,
    '',
    `The chapters of the kit's guide for the stages of this handout. Where they say \`labs/<lab>\`, your copy is`,
    `\`${HANDOUT_IMPL_DIR}/\`, and \`make project<stage>\` runs against it by default.`,
    '',
  ];
  let keep = true;
  for (const line of lines.slice(start, end)) {
    if (line.startsWith('### ')) {
      const stage = chapterStage(line);
      keep = stage === undefined || stage <= last;
    }
    if (keep) out.push(line);
  }
  return `${out.join('\n').trimEnd()}\n`;
}
