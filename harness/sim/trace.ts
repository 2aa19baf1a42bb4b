/**
 * The simulation's trace: one compact record per thing that happened (an event ran, a message was sent or
 * dropped, a node crashed, a note from the code under test), with
 *   - a running hash over the canonical text of every record: two runs are the same run exactly when their
 *     hashes match, which is how "same seed, same trace" is checked and how a replay is confirmed;
 *   - the last `keep` records in memory, for failure reports;
 *   - optionally the full trace streamed to a JSONL file (one record per line) for people and viewers.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** What a trace record is about. */
export type TraceKind =
  | 'timer' // a one-shot timer fired
  | 'every' // a periodic timer fired
  | 'post' // a posted job ran
  | 'spawn' // a background task ran
  | 'send' // a message entered the network (detail: from->to, description, latency)
  | 'drop' // a message was lost (detail: which filter, or why)
  | 'recv' // a message was delivered
  | 'start' // a node (incarnation) was started
  | 'crash' // a node crashed (detail: what pending work was thrown away)
  | 'client' // a client actor ran a step (detail: what it had been waiting for)
  | 'op' // a test's client operation ended (detail: what it did, its result, when it was called)
  | 'note'; // free text from the test or the code under test

export interface TraceRecord {
  /** Index of the record in the whole trace, from 0. */
  i: number;
  /** Virtual time in ms. */
  t: number;
  /** Kind of record. */
  k: TraceKind;
  /** Who: a node name ("s1"), a client actor ("client:main") or "sim". */
  n: string;
  /** Short detail. */
  d: string;
}

export interface TraceOptions {
  /** How many recent records to keep in memory (default 2000: enough for a failure block once periodic ticks are left out). */
  keep?: number;
  /** Stream every record to this JSONL file (created, with its directory; overwritten if present). */
  file?: string;
}

const FLUSH_BYTES = 64 * 1024;

export class Trace {
  readonly file: string | undefined;
  private readonly keep: number;
  private readonly recent: TraceRecord[] = [];
  private next = 0;
  private readonly hasher: Hash = createHash('sha256');
  private fd: number | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(options: TraceOptions = {}) {
    this.keep = Math.max(1, options.keep ?? 2000);
    this.file = options.file;
    if (options.file !== undefined) {
      mkdirSync(dirname(options.file), { recursive: true });
      this.fd = openSync(options.file, 'w');
    }
  }

  /** Number of records so far. */
  get count(): number {
    return this.next;
  }

  record(t: number, k: TraceKind, n: string, d: string): void {
    const rec: TraceRecord = { i: this.next++, t, k, n, d };
    this.hasher.update(canonicalText(rec));
    if (this.recent.length < this.keep) {
      this.recent.push(rec);
    } else {
      this.recent[rec.i % this.keep] = rec;
    }
    if (this.fd !== undefined) {
      const line = JSON.stringify(rec) + '\n';
      this.pending.push(line);
      this.pendingBytes += line.length;
      if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    }
  }

  /** The running hash: 16 hex digits of the SHA-256 of every record's canonical text so far. */
  hash(): string {
    return this.hasher.copy().digest('hex').slice(0, 16);
  }

  /** The last `n` records (at most what is kept), oldest first. */
  last(n: number = this.keep): TraceRecord[] {
    const total = this.recent.length;
    const start = this.next - total; // index of the oldest kept record
    const ordered: TraceRecord[] = [];
    for (let i = start; i < this.next; i++) ordered.push(this.recent[i % this.keep]!);
    return ordered.slice(Math.max(0, ordered.length - n));
  }

  /** Write buffered records to the file. */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Flush and close the file. Later records still update the hash and the recent list. */
  close(): void {
    this.flush();
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** The text a record contributes to the hash. Stable: changing it changes every recorded hash. */
export function canonicalText(rec: TraceRecord): string {
  return `${rec.t} ${rec.k} ${rec.n} ${rec.d}\n`;
}

/** One record as a line for people: "   1250ms  s2     recv   1->2 MsgAppend". */
export function formatRecord(rec: TraceRecord): string {
  return `${String(rec.t).padStart(8)}ms  ${rec.n.padEnd(6)} ${rec.k.padEnd(6)} ${rec.d}`;
}
