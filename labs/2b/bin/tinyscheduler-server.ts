/**
 * tinyscheduler-server: the cluster's scheduler (TinyKV's tinyscheduler / PD): the Scheduler gRPC service,
 * its state kept in --path.
 *
 *   node --import tsx reference/bin/tinyscheduler-server.ts --path DIR [--addr HOST:PORT] [...]
 *
 * Prints "tinyscheduler-server pid N listening on HOST:PORT" once it serves. SIGINT or SIGTERM stops it
 * cleanly; the cluster, its stores and regions, and the id and timestamp counters are there on the next start.
 */
import { parseArgs } from 'node:util';
import { RealRuntime } from '../runtime/real-runtime.ts';
import { GrpcService, parseAddress } from '../rpc/grpc-service.ts';
import { SchedulerService } from '../scheduler/server/scheduler-service.ts';
import { describeError, parseCommandLine, parseDuration, runMain, stopOnSignal, UsageError } from './until-signal.ts';

export const DEFAULT_SCHEDULER_ADDR = '127.0.0.1:2379';

const USAGE = `Usage: tinyscheduler-server --path DIR [--addr HOST:PORT] [options]

Serve the Scheduler gRPC service for a TinyKV cluster, keeping its state in DIR.

Options:
  --path DIR                      data directory (created if missing)
  --addr HOST:PORT                address to listen on (default ${DEFAULT_SCHEDULER_ADDR}; port 0 picks a free port)
  --schedule-interval DURATION    time between two scheduling rounds (default 100ms)
  --max-store-down-time DURATION  a store silent this long is down: its replicas move away (default 30m)
  --max-replicas N                members per region (default 3)
  -h, --help                      show this help

Durations: 500ms, 3s, 30m, or a number of milliseconds. Stop it with Ctrl-C (SIGINT) or SIGTERM.`;

interface Args {
  path: string;
  addr: string;
  scheduleIntervalMs: number;
  maxStoreDownTimeMs: number;
  maxReplicas: number;
}

function parse(argv: string[]): Args | 'help' {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        path: { type: 'string' },
        addr: { type: 'string', default: DEFAULT_SCHEDULER_ADDR },
        'schedule-interval': { type: 'string', default: '100ms' },
        'max-store-down-time': { type: 'string', default: '30m' },
        'max-replicas': { type: 'string', default: '3' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError(describeError(err));
  }
  if (values.help) return 'help';
  if (values.path === undefined || values.path === '') throw new UsageError('missing --path DIR (the data directory)');
  const maxReplicas = Number(values['max-replicas']);
  if (!Number.isInteger(maxReplicas) || maxReplicas < 1) throw new UsageError(`--max-replicas must be a whole number >= 1, got ${values['max-replicas']}`);
  try {
    parseAddress(values.addr);
    return {
      path: values.path,
      addr: values.addr,
      scheduleIntervalMs: parseDuration(values['schedule-interval']),
      maxStoreDownTimeMs: parseDuration(values['max-store-down-time']),
      maxReplicas,
    };
  } catch (err) {
    throw new UsageError(describeError(err));
  }
}

async function main(): Promise<number> {
  const args = parseCommandLine('tinyscheduler-server', USAGE, () => parse(process.argv.slice(2)));
  if (typeof args === 'number') return args;
  const runtime = new RealRuntime({ name: 'scheduler', onError: (err, where) => console.error(`tinyscheduler-server: ${where.kind} ${where.label} failed: ${describeError(err)}`) });
  let service: SchedulerService;
  try {
    service = await SchedulerService.open({
      runtime,
      dataDir: args.path,
      scheduleIntervalMs: args.scheduleIntervalMs,
      scheduler: { maxStoreDownTimeMs: args.maxStoreDownTimeMs, maxReplicas: args.maxReplicas },
      log: (line) => console.log(`tinyscheduler-server: ${line}`),
    });
  } catch (err) {
    console.error(`tinyscheduler-server: ${describeError(err)}`);
    await runtime.shutdown();
    return 1;
  }
  let grpcServer: GrpcService;
  try {
    grpcServer = await GrpcService.serve('schedulerpb.Scheduler', service, {
      addr: args.addr,
      extraHandlers: { Tso: service.tsoStream, RegionHeartbeat: service.regionHeartbeatStream },
      onHandlerError: (method, err) => console.error(`tinyscheduler-server: ${method} failed: ${describeError(err)}`),
    });
  } catch (err) {
    console.error(`tinyscheduler-server: ${describeError(err)}`);
    await runtime.shutdown();
    await service.close();
    return 1;
  }
  service.clientUrl = `http://${grpcServer.address}`;
  console.log(`tinyscheduler-server pid ${process.pid} listening on ${grpcServer.address} (cluster ${service.clusterId}, data in ${args.path})`);
  return stopOnSignal(
    'tinyscheduler-server',
    async () => {
      const stopping = grpcServer.stop();
      // Streams (heartbeats, TSO) stay open until their clients go: close them so the server can stop.
      await service.close();
      await runtime.shutdown();
      await stopping;
    },
    () => grpcServer.forceStop(),
  );
}

runMain('tinyscheduler-server', main);
