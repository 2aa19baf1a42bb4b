/**
 * Thrown by a lab stub: the code for `stage` has not been written yet.
 * The message names the stage so a failing test points the student at the right chapter of GUIDE.md.
 */
export class NotImplemented extends Error {
  readonly stage: string;
  constructor(stage: string, what: string) {
    super(`Not implemented (stage ${stage}): ${what}. See GUIDE.md, stage ${stage}.`);
    this.name = 'NotImplemented';
    this.stage = stage;
  }
}
