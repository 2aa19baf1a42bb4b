/**
 * The stages of the course and the lab copies cut from reference/.
 *
 * A stage is a unit of student work with its own suite (harness/suites/<suiteDir>). A lab is a copy of
 * reference/ in which one stage (or, for lab 2a, three stages) and every later stage are stubbed.
 */

export interface Stage {
  /** The id used in markers: `// @student 2AB begin`. */
  readonly id: string;
  /** Directory of the stage's suite under harness/suites/. */
  readonly suiteDir: string;
  /** The lab copy in which this stage is the student's work. */
  readonly lab: string;
  readonly title: string;
}

export interface Lab {
  /** Directory name under labs/. */
  readonly id: string;
  /** The stages that are this lab's own work, in order; the first is where stubbing starts. */
  readonly stages: readonly string[];
  /** The make target that runs this lab's own suites. */
  readonly makeTarget: string;
}

/** Every stage, in course order. Order matters: a lab stubs its first stage and everything after it. */
export const STAGES: readonly Stage[] = [
  { id: '1', suiteDir: '1', lab: '1', title: 'Standalone KV: storage engine with column families and the raw API' },
  { id: '2AA', suiteDir: '2aa', lab: '2a', title: 'Raft: leader election' },
  { id: '2AB', suiteDir: '2ab', lab: '2a', title: 'Raft: log replication' },
  { id: '2AC', suiteDir: '2ac', lab: '2a', title: 'Raft: the RawNode interface (Ready and Advance)' },
  { id: '2B', suiteDir: '2b', lab: '2b', title: 'Raftstore: a fault-tolerant KV on one raft group' },
  { id: '2C', suiteDir: '2c', lab: '2c', title: 'Log compaction and snapshots' },
  { id: '3A', suiteDir: '3a', lab: '3a', title: 'Raft: leader transfer and membership change' },
  { id: '3B', suiteDir: '3b', lab: '3b', title: 'Multi-raft: transfer leader, conf change and region split in the raftstore' },
  { id: '3C', suiteDir: '3c', lab: '3c', title: 'Scheduler: region heartbeats and the balance-region scheduler' },
  { id: '4A', suiteDir: '4a', lab: '4a', title: 'Transactions: the MVCC layer' },
  { id: '4B', suiteDir: '4b', lab: '4b', title: 'Transactions: KvGet, KvPrewrite and KvCommit' },
  { id: '4C', suiteDir: '4c', lab: '4c', title: 'Transactions: KvScan, KvCheckTxnStatus, KvBatchRollback and KvResolveLock' },
];

export const LABS: readonly Lab[] = [
  { id: '1', stages: ['1'], makeTarget: 'project1' },
  { id: '2a', stages: ['2AA', '2AB', '2AC'], makeTarget: 'project2a' },
  { id: '2b', stages: ['2B'], makeTarget: 'project2b' },
  { id: '2c', stages: ['2C'], makeTarget: 'project2c' },
  { id: '3a', stages: ['3A'], makeTarget: 'project3a' },
  { id: '3b', stages: ['3B'], makeTarget: 'project3b' },
  { id: '3c', stages: ['3C'], makeTarget: 'project3c' },
  { id: '4a', stages: ['4A'], makeTarget: 'project4a' },
  { id: '4b', stages: ['4B'], makeTarget: 'project4b' },
  { id: '4c', stages: ['4C'], makeTarget: 'project4c' },
];

export const STAGE_IDS: readonly string[] = STAGES.map((s) => s.id);
export const LAB_IDS: readonly string[] = LABS.map((l) => l.id);

export function isStageId(id: string): boolean {
  return STAGE_IDS.includes(id);
}

/** Position of a stage in course order; throws on an unknown id. */
export function stageIndex(id: string): number {
  const index = STAGE_IDS.indexOf(id);
  if (index < 0) throw new Error(`unknown stage id '${id}' (known: ${STAGE_IDS.join(' ')})`);
  return index;
}

export function getStage(id: string): Stage {
  return STAGES[stageIndex(id)]!;
}

export function getLab(id: string): Lab {
  const lab = LABS.find((l) => l.id === id);
  if (!lab) throw new Error(`unknown lab '${id}' (known: ${LAB_IDS.join(' ')})`);
  return lab;
}

/** Index of the first stage a lab stubs: blocks of this stage and later become stubs in the lab. */
export function labFirstStageIndex(lab: Lab): number {
  return stageIndex(lab.stages[0]!);
}

/** Stages whose reference code a lab keeps (all stages before the lab's own). */
export function stagesBefore(lab: Lab): Stage[] {
  return STAGES.slice(0, labFirstStageIndex(lab));
}

/** The lab's own stages. */
export function ownStages(lab: Lab): Stage[] {
  return lab.stages.map(getStage);
}

/** Stages stubbed in a lab: its own and every later stage. */
export function stubbedStages(lab: Lab): Stage[] {
  return STAGES.slice(labFirstStageIndex(lab));
}

/**
 * What `make project<name>` (or `make ui STAGE=<name>`) runs: a lab name runs all its own stages,
 * a stage name runs that stage. Case-insensitive; a leading `project` is accepted.
 */
export function resolveTarget(name: string): { stages: Stage[]; lab: Lab } | undefined {
  const key = name.toLowerCase().replace(/^project/, '');
  const lab = LABS.find((l) => l.id === key);
  if (lab) return { stages: ownStages(lab), lab };
  const stage = STAGES.find((s) => s.suiteDir === key);
  if (stage) return { stages: [stage], lab: getLab(stage.lab) };
  return undefined;
}
