/**
 * tinykv-server: a TinyKV store serving the TinyKv gRPC service.
 *
 *   node --import tsx reference/bin/tinykv-server.ts --path DIR [--addr HOST:PORT]                    standalone
 *   node --import tsx reference/bin/tinykv-server.ts --scheduler HOST:PORT --path DIR [--addr ...]   in a cluster
 *
 * Standalone (Project 1), the raw and transactional APIs run on one local engine. With --scheduler, the store
 * joins that scheduler's cluster: raft storage (every read and write goes through raft, region errors go back
 * to the client), raft messages to the other stores over gRPC, heartbeats to the scheduler.
 *
 * Prints "tinykv-server pid N listening on HOST:PORT" once it serves. SIGINT or SIGTERM stops it cleanly: no new
 * calls, running calls finish, the engines are closed; the data is there on the next start.
 */
import { parseArgs } from 'node:util';
import { Server } from '../kv/server/server.ts';
import { DEFAULT_ADDR, TinyKvGrpcServer, parseAddress } from '../kv/server/grpc-server.ts';
import { StandaloneStorage } from '../kv/storage/standalone-storage.ts';
import { RaftStorage } from '../kv/storage/raft-storage.ts';
import { defaultConfig, testConfig, validateConfig, type RaftstoreConfig } from '../kv/raftstore/config.ts';
import { StoreNode } from '../kv/server/store-node.ts';
import { RaftServiceGate } from '../kv/server/raft-transport.ts';
import { RealRuntime } from '../runtime/real-runtime.ts';
import { SchedulerRpcClient } from '../scheduler/client/scheduler-rpc-client.ts';
import { describeError, parseCommandLine, parseDuration, runMain, stopOnSignal, UsageError } from './until-signal.ts';

const USAGE = `Usage: tinykv-server --path DIR [--addr HOST:PORT] [--scheduler HOST:PORT [cluster options]]

Serve the TinyKv gRPC service (raw and transactional API) from the store in DIR: standalone, or as a store of
the cluster whose scheduler is at --scheduler.

Options:
  --path DIR                     data directory (created if missing)
  --addr HOST:PORT               address to listen on (default ${DEFAULT_ADDR}; port 0 picks a free port)
  --sync                         fsync every write (slower; survives power loss, not just a crash)
  -h, --help                     show this help

In a cluster:
  --scheduler HOST:PORT          the cluster's tinyscheduler-server (waits for it, retrying, if it is down)
  --advertise-addr HOST:PORT     the address other stores and clients use (default: the one it listens on)
  --test-config                  TinyKV's test settings: 50 ms raft ticks, fast heartbeats and split checks
  --raft-tick DURATION           one raft tick (default 1s; elections take 10-20 ticks)
  --region-heartbeat DURATION    how often a leader reports its region to the scheduler (default 10s)
  --store-heartbeat DURATION     how often the store reports itself (default 10s)
  --split-check DURATION         how often a leader checks its region's size (default 10s)
  --log-gc DURATION              how often a leader considers compacting its raft log (default 10s)
  --region-max-size BYTES        a region above this is split (default 144 MiB)
  --region-split-size BYTES      the size of the left half of a split (default 96 MiB)

Durations: 500ms, 3s, 1m, or a number of milliseconds. Stop it with Ctrl-C (SIGINT) or SIGTERM.`;

interface ServerArgs {
  path: string;
  addr: string;
  sync: boolean;
  scheduler: string | undefined;
  advertiseAddr: string | undefined;
  config: RaftstoreConfig;
}

function parseServerArgs(argv: string[]): ServerArgs | 'help' {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        path: { type: 'string' },
        addr: { type: 'string', default: DEFAULT_ADDR },
        sync: { type: 'boolean', default: false },
        scheduler: { type: 'string' },
        'advertise-addr': { type: 'string' },
        'test-config': { type: 'boolean', default: false },
        'raft-tick': { type: 'string' },
        'region-heartbeat': { type: 'string' },
        'store-heartbeat': { type: 'string' },
        'split-check': { type: 'string' },
        'log-gc': { type: 'string' },
        'region-max-size': { type: 'string' },
        'region-split-size': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError(describeError(err));
  }
  if (values.help) return 'help';
  if (values.path === undefined || values.path === '') throw new UsageError('missing --path DIR (the data directory)');
  const clusterOnly = ['advertise-addr', 'test-config', 'raft-tick', 'region-heartbeat', 'store-heartbeat', 'split-check', 'log-gc', 'region-max-size', 'region-split-size'] as const;
  if (values.scheduler === undefined) {
    const stray = clusterOnly.find((name) => values[name] !== undefined && values[name] !== false);
    if (stray !== undefined) throw new UsageError(`--${stray} needs --scheduler (it configures a store of a cluster)`);
  }
  try {
    parseAddress(values.addr);
    if (values.scheduler !== undefined) parseAddress(values.scheduler);
    if (values['advertise-addr'] !== undefined) parseAddress(values['advertise-addr']);
    const config = values['test-config'] ? testConfig() : defaultConfig();
    const duration = (name: keyof typeof values, key: keyof RaftstoreConfig) => {
      const text = values[name];
      if (typeof text === 'string') config[key] = parseDuration(text);
    };
    duration('raft-tick', 'raftBaseTickIntervalMs');
    duration('region-heartbeat', 'schedulerHeartbeatTickIntervalMs');
    duration('store-heartbeat', 'schedulerStoreHeartbeatTickIntervalMs');
    duration('split-check', 'splitRegionCheckTickIntervalMs');
    duration('log-gc', 'raftLogGcTickIntervalMs');
    for (const [name, key] of [['region-max-size', 'regionMaxSize'], ['region-split-size', 'regionSplitSize']] as const) {
      const text = values[name];
      if (text === undefined) continue;
      const bytes = Number(text);
      if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`--${name} must be a whole number of bytes above 0, got ${text}`);
      config[key] = bytes;
    }
    validateConfig(config);
    return { path: values.path, addr: values.addr, sync: values.sync, scheduler: values.scheduler, advertiseAddr: values['advertise-addr'], config };
  } catch (err) {
    throw new UsageError(describeError(err));
  }
}

async function main(): Promise<number> {
  const args = parseCommandLine('tinykv-server', USAGE, () => parseServerArgs(process.argv.slice(2)));
  if (typeof args === 'number') return args;
  return args.scheduler === undefined ? standalone(args) : clusterStore(args, args.scheduler);
}

async function standalone(args: ServerArgs): Promise<number> {
  const storage = new StandaloneStorage(args.path, { syncWrites: args.sync });
  try {
    await storage.start();
  } catch (err) {
    console.error(`tinykv-server: ${describeError(err)}`);
    return 1;
  }
  let grpcServer: TinyKvGrpcServer;
  try {
    grpcServer = await TinyKvGrpcServer.start(new Server(storage), {
      addr: args.addr,
      onHandlerError: (method, err) => console.error(`tinykv-server: ${method} failed: ${describeError(err)}`),
    });
  } catch (err) {
    console.error(`tinykv-server: ${describeError(err)}`);
    await storage.stop();
    return 1;
  }
  console.log(`tinykv-server pid ${process.pid} listening on ${grpcServer.address} (data in ${args.path})`);
  return stopOnSignal(
    'tinykv-server',
    () => grpcServer.stop().then(() => storage.stop()),
    () => grpcServer.forceStop(),
  );
}

/**
 * A store of a cluster. The gRPC server starts first (with the raft handlers waiting for the store), so the
 * address is known before the store registers it with the scheduler.
 */
async function clusterStore(args: ServerArgs, schedulerAddr: string): Promise<number> {
  const log = (line: string) => console.log(`tinykv-server: ${line}`);
  const runtime = new RealRuntime({ name: 'store', onError: (err, where) => console.error(`tinykv-server: ${where.kind} ${where.label} failed: ${describeError(err)}`) });
  const scheduler = new SchedulerRpcClient(schedulerAddr, { runtime, log });
  let node: StoreNode | undefined;
  const storage = new RaftStorage({
    sendCommand: (req) => {
      if (node === undefined) throw new Error('the store is still starting');
      return node.raftstore.sendCommand(req);
    },
  });
  // Other stores' raft streams are refused (UNAVAILABLE, they retry) until the store's transport exists.
  const raftGate = new RaftServiceGate();
  let grpcServer: TinyKvGrpcServer;
  try {
    grpcServer = await TinyKvGrpcServer.start(new Server(storage), {
      addr: args.addr,
      extraHandlers: {
        Raft: raftGate.raftHandler,
        Snapshot: raftGate.snapshotHandler,
      },
      onHandlerError: (method, err) => console.error(`tinykv-server: ${method} failed: ${describeError(err)}`),
    });
  } catch (err) {
    console.error(`tinykv-server: ${describeError(err)}`);
    await runtime.shutdown();
    return 1;
  }
  const shutDown = async () => {
    const stopping = grpcServer.stop();
    await node?.stop();
    scheduler.close();
    await runtime.shutdown();
    await stopping;
  };
  const stopped = stopOnSignal('tinykv-server', shutDown, () => grpcServer.forceStop());
  try {
    await scheduler.connect();
    node = await StoreNode.start({
      dataDir: args.path,
      advertiseAddress: args.advertiseAddr ?? grpcServer.address,
      scheduler,
      runtime,
      config: args.config,
      engineOptions: { syncWrites: args.sync },
      log,
    });
    raftGate.open(node.transport);
  } catch (err) {
    console.error(`tinykv-server: ${describeError(err)}`);
    grpcServer.forceStop();
    scheduler.close();
    await runtime.shutdown();
    return 1;
  }
  console.log(`tinykv-server pid ${process.pid} listening on ${grpcServer.address} (store ${node.storeId} of cluster ${scheduler.clusterId}, data in ${args.path})`);
  return stopped;
}

runMain('tinykv-server', main);
