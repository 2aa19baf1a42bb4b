/**
 * tinykv-ctl: talk to a TinyKV server's raw API from the command line, or to a whole cluster.
 *
 *   node --import tsx reference/bin/tinykv-ctl.ts [--addr HOST:PORT] put <key> <value> [--cf CF]
 *   node --import tsx reference/bin/tinykv-ctl.ts [--addr HOST:PORT] get <key> [--cf CF]
 *   node --import tsx reference/bin/tinykv-ctl.ts [--addr HOST:PORT] delete <key> [--cf CF]
 *   node --import tsx reference/bin/tinykv-ctl.ts [--addr HOST:PORT] scan <startKey> [--limit N] [--cf CF]
 *   node --import tsx reference/bin/tinykv-ctl.ts --scheduler HOST:PORT <any of the above> | stores | regions
 *
 * With --scheduler, requests are routed by key to the region's leader (reference/kv/client/cluster-client.ts).
 *
 * Exit status: 0 on success, 1 when the server refused the request or could not be reached (or get found
 * no key), 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { kvrpcpb, metapb } from '#proto';
import { DEFAULT_ADDR, parseAddress } from '../kv/server/grpc-server.ts';
import { RawClient } from '../kv/server/raw-client.ts';
import { ClusterClient } from '../kv/client/cluster-client.ts';
import { RealRuntime } from '../runtime/real-runtime.ts';
import { SchedulerRpcClient } from '../scheduler/client/scheduler-rpc-client.ts';
import { parseCommandLine, runMain, UsageError } from './until-signal.ts';

const USAGE = `Usage: tinykv-ctl [--addr HOST:PORT | --scheduler HOST:PORT] <command> [args] [--cf CF] [--hex]

Commands:
  put <key> <value>          store value under key
  get <key>                  print the value of key (exit status 1 if there is none)
  delete <key>               remove key (removing an absent key is fine)
  scan <startKey> [--limit N]
                             print up to N pairs (default 10) from startKey on, one "key<TAB>value" per line;
                             an empty startKey ("") starts at the first key
  stores                     (with --scheduler) the cluster's stores: id, address, state
  regions                    (with --scheduler) the cluster's regions: id, range, epoch, members, leader

Options:
  --addr HOST:PORT   server address (default ${DEFAULT_ADDR})
  --scheduler HOST:PORT
                     talk to the cluster of this tinyscheduler-server instead of one server
  --cf CF            column family: default, lock or write (default: default)
  --limit N          scan: how many pairs at most (default 10)
  --hex              keys and values are hex, in arguments and in output (for binary data)
  -h, --help         show this help`;


/** The server refused the request, or the key was not found: exit status 1 with this message. */
class CommandError extends Error {}

interface CtlArgs {
  addr: string;
  scheduler: string | undefined;
  cf: string;
  limit: number;
  hex: boolean;
  command: string;
  operands: string[];
}

const OPERANDS: Record<string, string[]> = {
  put: ['key', 'value'],
  get: ['key'],
  delete: ['key'],
  scan: ['startKey'],
  stores: [],
  regions: [],
};

function parseCtlArgs(argv: string[]): CtlArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        addr: { type: 'string' },
        scheduler: { type: 'string' },
        cf: { type: 'string', default: 'default' },
        limit: { type: 'string', default: '10' },
        hex: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [command, ...operands] = positionals;
  if (command === undefined) throw new UsageError('missing command (put, get, delete, scan, stores or regions)');
  const expected = OPERANDS[command];
  if (expected === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}: use put, get, delete, scan, stores or regions`);
  if (values.addr !== undefined && values.scheduler !== undefined) throw new UsageError('give --addr (one server) or --scheduler (a cluster), not both');
  if ((command === 'stores' || command === 'regions') && values.scheduler === undefined) throw new UsageError(`${command} needs --scheduler HOST:PORT`);
  if (operands.length !== expected.length) {
    throw new UsageError(`${command} takes ${expected.map((o) => `<${o}>`).join(' ')}, got ${operands.length} argument(s)`);
  }
  if (!/^[1-9]\d*$/.test(values.limit)) throw new UsageError(`--limit must be a positive integer, got ${JSON.stringify(values.limit)}`);
  const addr = values.addr ?? DEFAULT_ADDR;
  try {
    parseAddress(addr);
    if (values.scheduler !== undefined) parseAddress(values.scheduler);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { addr, scheduler: values.scheduler, cf: values.cf, limit: Number(values.limit), hex: values.hex, command, operands };
}

function toBytes(text: string, hex: boolean, what: string): Uint8Array {
  if (!hex) return new TextEncoder().encode(text);
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new UsageError(`${what} is not hex: ${JSON.stringify(text)}`);
  return Buffer.from(text, 'hex');
}

function fromBytes(bytes: Uint8Array, hex: boolean): string {
  return hex ? Buffer.from(bytes).toString('hex') : new TextDecoder().decode(bytes);
}

/** Throw the server's refusal, if the response carries one. */
function checkResponse(resp: { error: string; regionError?: unknown }): void {
  if (resp.error !== '') throw new CommandError(`server refused the request: ${resp.error}`);
  if (resp.regionError !== undefined) throw new CommandError(`region error: ${JSON.stringify(resp.regionError)}`);
}

/** What the raw commands need: one server, or a cluster through its region-routing client. */
interface KvTarget {
  put(key: Uint8Array, value: Uint8Array, cf: string): Promise<void>;
  get(key: Uint8Array, cf: string): Promise<Uint8Array | undefined>;
  delete(key: Uint8Array, cf: string): Promise<void>;
  scan(start: Uint8Array, limit: number, cf: string): Promise<kvrpcpb.KvPair[]>;
}

function serverTarget(client: RawClient): KvTarget {
  return {
    put: async (key, value, cf) => checkResponse(await client.rawPut(kvrpcpb.RawPutRequest({ key, value, cf }))),
    get: async (key, cf) => {
      const resp = await client.rawGet(kvrpcpb.RawGetRequest({ key, cf }));
      checkResponse(resp);
      return resp.notFound ? undefined : resp.value;
    },
    delete: async (key, cf) => checkResponse(await client.rawDelete(kvrpcpb.RawDeleteRequest({ key, cf }))),
    scan: async (startKey, limit, cf) => {
      const resp = await client.rawScan(kvrpcpb.RawScanRequest({ startKey, limit, cf }));
      checkResponse(resp);
      return resp.kvs;
    },
  };
}

function clusterTarget(client: ClusterClient): KvTarget {
  return {
    put: (key, value, cf) => client.rawPut(key, value, cf),
    get: (key, cf) => client.rawGet(key, cf),
    delete: (key, cf) => client.rawDelete(key, cf),
    scan: (start, limit, cf) => client.rawScan(start, limit, cf),
  };
}

async function run(args: CtlArgs, target: KvTarget): Promise<void> {
  const { cf, hex } = args;
  switch (args.command) {
    case 'put': {
      await target.put(toBytes(args.operands[0]!, hex, 'key'), toBytes(args.operands[1]!, hex, 'value'), cf);
      console.log('OK');
      return;
    }
    case 'get': {
      const value = await target.get(toBytes(args.operands[0]!, hex, 'key'), cf);
      if (value === undefined) throw new CommandError(`not found: ${args.operands[0]} (column family ${cf || 'default'})`);
      console.log(fromBytes(value, hex));
      return;
    }
    case 'delete': {
      await target.delete(toBytes(args.operands[0]!, hex, 'key'), cf);
      console.log('OK');
      return;
    }
    case 'scan': {
      for (const kv of await target.scan(toBytes(args.operands[0]!, hex, 'startKey'), args.limit, cf)) console.log(`${fromBytes(kv.key, hex)}\t${fromBytes(kv.value, hex)}`);
      return;
    }
  }
}

/** The cluster commands: what the scheduler knows of stores and regions. */
async function runClusterInfo(args: CtlArgs, scheduler: SchedulerRpcClient): Promise<void> {
  if (args.command === 'stores') {
    for (const store of await scheduler.getAllStores()) console.log(`store ${store.id}\t${store.address}\t${metapb.StoreState[store.state]}`);
    return;
  }
  const show = (key: Uint8Array) => (key.length === 0 ? '' : args.hex ? Buffer.from(key).toString('hex') : JSON.stringify(Buffer.from(key).toString('latin1')).slice(1, -1));
  for (const { region, leader } of await scheduler.scanRegions(new Uint8Array(0), new Uint8Array(0), 0)) {
    const epoch = region.regionEpoch;
    const members = region.peers.map((p) => `${p.id}@store${p.storeId}${p.id === leader?.id ? '*' : ''}`).join(' ');
    console.log(`region ${region.id}\t[${show(region.startKey)}, ${show(region.endKey) || '+inf'})\tv${epoch?.version ?? 0}/c${epoch?.confVer ?? 0}\t${members}`);
  }
}

async function main(): Promise<number> {
  const args = parseCommandLine('tinykv-ctl', USAGE, () => parseCtlArgs(process.argv.slice(2)));
  if (typeof args === 'number') return args;
  if (args.scheduler !== undefined) {
    const schedulerAddr = args.scheduler;
    const runtime = new RealRuntime({ name: 'ctl' });
    const scheduler = new SchedulerRpcClient(schedulerAddr, { runtime });
    const client = new ClusterClient(scheduler, { runtime, requestTimeoutMs: 15_000 });
    return exitStatus(
      async () => {
        await scheduler.connect(5_000);
        if (args.command === 'stores' || args.command === 'regions') await runClusterInfo(args, scheduler);
        else await run(args, clusterTarget(client));
      },
      async () => {
        client.close();
        scheduler.close();
        await runtime.shutdown();
      },
    );
  }
  const client = new RawClient(args.addr);
  return exitStatus(
    () => run(args, serverTarget(client)),
    async () => client.close(),
  );
}

/** Runs a command: 0 when it succeeds, 2 for a usage error, 1 for any other failure (printed). */
async function exitStatus(body: () => Promise<void>, cleanup: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (err) {
    const usage = err instanceof UsageError;
    console.error(`tinykv-ctl: ${err instanceof Error ? err.message : String(err)}${usage ? ' (see tinykv-ctl --help)' : ''}`);
    return usage ? 2 : 1;
  } finally {
    await cleanup();
  }
}

runMain('tinykv-ctl', main);
