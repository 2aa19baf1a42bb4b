/**
 * A small structured logger, quiet unless asked.
 *
 * The level comes from the LOG_LEVEL environment variable (debug, info, warn, error; unset or anything else:
 * silent), read once when this module loads. Each line names who speaks with tags, e.g.
 *
 *   INFO  [store 1][region 1][peer 1] became leader term=6
 *
 * so `grep '\[region 3\]'` follows one region through a run. The logger never reads the clock (reference/
 * code must stay deterministic); a test or a server can route the lines elsewhere with setLogSink.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Extra facts for a line, printed as key=value. */
export type LogFields = Record<string, string | number | boolean | bigint | undefined | null>;

/** Where finished lines go. The default writes to stderr. */
export type LogSink = (level: LogLevel, line: string) => void;

function levelFromEnv(): LogLevel | 'silent' {
  const raw = (typeof process !== 'undefined' ? process.env.LOG_LEVEL : undefined)?.toLowerCase();
  if (raw === 'debug' || raw === 'info' || raw === 'warn' || raw === 'error') return raw;
  if (raw === 'warning') return 'warn';
  return 'silent';
}

let threshold: number = RANK[levelFromEnv()];
let sink: LogSink = (_level, line) => {
  process.stderr.write(`${line}\n`);
};

/** Change the level at run time (tests); 'silent' turns logging off. */
export function setLogLevel(level: LogLevel | 'silent'): void {
  threshold = RANK[level];
}

/** Send log lines somewhere else (a test's buffer, a trace); returns the previous sink. */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

function formatValue(value: LogFields[string]): string {
  if (value === undefined || value === null) return '-';
  const text = String(value);
  return /[\s="]/.test(text) ? JSON.stringify(text) : text;
}

export class Logger {
  /** The tags in front of every line, e.g. "[store 1][region 2]". */
  readonly prefix: string;

  constructor(prefix = '') {
    this.prefix = prefix;
  }

  /** A logger whose lines carry one more tag: `log.with('region', 3)` adds "[region 3]". */
  with(name: string, value: string | number): Logger {
    return new Logger(`${this.prefix}[${name} ${value}]`);
  }

  /** True when lines of `level` are printed (to skip building expensive messages). */
  enabled(level: LogLevel): boolean {
    return RANK[level] >= threshold;
  }

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }

  private write(level: LogLevel, message: string, fields: LogFields | undefined): void {
    if (RANK[level] < threshold) return;
    let line = `${level.toUpperCase().padEnd(5)} ${this.prefix}${this.prefix ? ' ' : ''}${message}`;
    if (fields) {
      for (const [key, value] of Object.entries(fields)) line += ` ${key}=${formatValue(value)}`;
    }
    sink(level, line);
  }
}

/** The root logger (no tags). */
export const rootLogger = new Logger();
