/**
 * The shutdown every server binary shares: the first SIGINT or SIGTERM stops it cleanly (no new calls,
 * running ones finish, data closed); a second one cancels what is still running. Resolves to the exit code.
 */
export function stopOnSignal(name: string, stop: () => Promise<void>, forceStop: () => void): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: NodeJS.Signals): void => {
      if (stopping) {
        console.error(`${name}: ${signal} again, cancelling running calls`);
        forceStop();
        return;
      }
      stopping = true;
      console.log(`${name}: ${signal} received, shutting down`);
      stop().then(
        () => {
          console.log(`${name}: stopped`);
          resolve(0);
        },
        (err: unknown) => {
          console.error(`${name}: error while shutting down: ${describeError(err)}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
}

export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs a binary's main and exits with its code; an unexpected failure prints its stack and exits 1. */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`${name}: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}

/** A duration: a number of milliseconds, or a number with ms, s, m or h ("30s", "30m"). */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null) throw new Error(`bad duration ${JSON.stringify(text)}: expected e.g. 500ms, 3s, 30m or a number of milliseconds`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(match[1]) * unit);
  if (ms <= 0) throw new Error(`bad duration ${JSON.stringify(text)}: it must be above 0`);
  return ms;
}

/** A bad command line (exit status 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A binary's command line: `--help` prints `usage` (exit 0); a UsageError from `parse` is printed with a
 * pointer to --help (exit 2). Returns the parsed arguments, or the exit status to return at once.
 */
export function parseCommandLine<A>(name: string, usage: string, parse: () => A | 'help'): A | number {
  let args: A | 'help';
  try {
    args = parse();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${name}: ${err.message} (see ${name} --help)`);
    return 2;
  }
  if (args === 'help') {
    console.log(usage);
    return 0;
  }
  return args;
}
