/**
 * The server side of the "raw" benchmark, run as its own process so that server and clients each get a
 * core (as they would on two machines):
 *
 *   node --import tsx harness/bench/raw-server.ts standalone DIR   the real Server on StandaloneStorage
 *   node --import tsx harness/bench/raw-server.ts noop             a handler that answers empty responses
 *
 * Both use the same gRPC service definition and codec. Prints "listening on ADDR"; answers a "cpu" line on
 * stdin with "cpu <µs>" (its CPU time so far); stops on SIGTERM.
 */
import { kvrpcpb } from '#proto';
import { Server } from '@impl/kv/server/server.ts';
import { TinyKvGrpcServer, type TinyKvHandlers } from '@impl/kv/server/grpc-server.ts';
import { StandaloneStorage } from '@impl/kv/storage/standalone-storage.ts';

/** The ceiling: decode the request, answer an empty response, nothing else. */
const NOOP_HANDLERS: TinyKvHandlers = {
  rawPut: async () => kvrpcpb.RawPutResponse(),
  rawGet: async () => kvrpcpb.RawGetResponse(),
};

async function main(): Promise<void> {
  const [mode, dir] = process.argv.slice(2);
  let storage: StandaloneStorage | undefined;
  let handlers: TinyKvHandlers;
  if (mode === 'standalone' && dir !== undefined) {
    storage = new StandaloneStorage(dir);
    await storage.start();
    handlers = new Server(storage);
  } else if (mode === 'noop') {
    handlers = NOOP_HANDLERS;
  } else {
    throw new Error('usage: raw-server.ts standalone DIR | noop');
  }
  const server = await TinyKvGrpcServer.start(handlers, { addr: '127.0.0.1:0' });
  console.log(`listening on ${server.address}`);
  // "cpu" on stdin: print the CPU time this process has used so far (all threads, LevelDB's included), in µs.
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      if (line.trim() === 'cpu') {
        const usage = process.cpuUsage();
        console.log(`cpu ${usage.user + usage.system}`);
      }
    }
  });
  process.on('SIGTERM', () => {
    server
      .stop()
      .then(() => storage?.stop())
      .then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
