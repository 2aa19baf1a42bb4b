/**
 * tinykv-server: a standalone TinyKV server (Project 1): the TinyKv gRPC service over standalone storage.
 *
 *   node --import tsx reference/bin/tinykv-server.ts --path DIR [--addr HOST:PORT]
 *
 * Prints "tinykv-server pid N listening on HOST:PORT" once it serves. SIGINT or SIGTERM stops it cleanly: no new
 * calls, running calls finish, the engine is closed; the data is there on the next start.
 */
import { parseArgs } from 'node:util';
import { Server } from '../kv/server/server.ts';
import { DEFAULT_ADDR, TinyKvGrpcServer, parseAddress } from '../kv/server/grpc-server.ts';
import { StandaloneStorage } from '../kv/storage/standalone-storage.ts';

const USAGE = `Usage: tinykv-server --path DIR [--addr HOST:PORT]

Serve the TinyKv gRPC service (raw and transactional API) from a standalone store in DIR.

Options:
  --path DIR         data directory (created if missing)
  --addr HOST:PORT   address to listen on (default ${DEFAULT_ADDR}; port 0 picks a free port)
  --sync             fsync every write (slower; survives power loss, not just a crash)
  -h, --help         show this help

Stop it with Ctrl-C (SIGINT) or SIGTERM.`;

interface ServerArgs {
  path: string;
  addr: string;
  sync: boolean;
}

class UsageError extends Error {}

function parseServerArgs(argv: string[]): ServerArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        path: { type: 'string' },
        addr: { type: 'string', default: DEFAULT_ADDR },
        sync: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values } = parsed;
  if (values.help) return 'help';
  if (values.path === undefined || values.path === '') throw new UsageError('missing --path DIR (the data directory)');
  try {
    parseAddress(values.addr);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { path: values.path, addr: values.addr, sync: values.sync };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function main(): Promise<number> {
  let args: ServerArgs | 'help';
  try {
    args = parseServerArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`tinykv-server: ${err.message} (see tinykv-server --help)`);
    return 2;
  }
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }

  const storage = new StandaloneStorage(args.path, { syncWrites: args.sync });
  try {
    await storage.start();
  } catch (err) {
    console.error(`tinykv-server: ${describe(err)}`);
    return 1;
  }

  let grpcServer: TinyKvGrpcServer;
  try {
    grpcServer = await TinyKvGrpcServer.start(new Server(storage), {
      addr: args.addr,
      onHandlerError: (method, err) => console.error(`tinykv-server: ${method} failed: ${describe(err)}`),
    });
  } catch (err) {
    console.error(`tinykv-server: ${describe(err)}`);
    await storage.stop();
    return 1;
  }
  console.log(`tinykv-server pid ${process.pid} listening on ${grpcServer.address} (data in ${args.path})`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second signal: stop waiting for running calls.
        console.error(`tinykv-server: ${signal} again, cancelling running calls`);
        grpcServer.forceStop();
        return;
      }
      stopping = true;
      console.log(`tinykv-server: ${signal} received, shutting down`);
      grpcServer
        .stop()
        .then(() => storage.stop())
        .then(
          () => {
            console.log('tinykv-server: stopped');
            resolve(0);
          },
          (err: unknown) => {
            console.error(`tinykv-server: error while shutting down: ${describe(err)}`);
            resolve(1);
          },
        );
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`tinykv-server: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
