/**
 * tinykv-ctl: talk to a TinyKV server's raw API from the command line.
 *
 *   npx tsx reference/bin/tinykv-ctl.ts [--addr HOST:PORT] put <key> <value> [--cf CF]
 *   npx tsx reference/bin/tinykv-ctl.ts [--addr HOST:PORT] get <key> [--cf CF]
 *   npx tsx reference/bin/tinykv-ctl.ts [--addr HOST:PORT] delete <key> [--cf CF]
 *   npx tsx reference/bin/tinykv-ctl.ts [--addr HOST:PORT] scan <startKey> [--limit N] [--cf CF]
 *
 * Exit status: 0 on success, 1 when the server refused the request or could not be reached (or get found
 * no key), 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { kvrpcpb } from '#proto';
import { DEFAULT_ADDR, parseAddress } from '../kv/server/grpc-server.ts';
import { RawClient } from '../kv/server/raw-client.ts';

const USAGE = `Usage: tinykv-ctl [--addr HOST:PORT] <command> [args] [--cf CF] [--hex]

Commands:
  put <key> <value>          store value under key
  get <key>                  print the value of key (exit status 1 if there is none)
  delete <key>               remove key (removing an absent key is fine)
  scan <startKey> [--limit N]
                             print up to N pairs (default 10) from startKey on, one "key<TAB>value" per line;
                             an empty startKey ("") starts at the first key

Options:
  --addr HOST:PORT   server address (default ${DEFAULT_ADDR})
  --cf CF            column family: default, lock or write (default: default)
  --limit N          scan: how many pairs at most (default 10)
  --hex              keys and values are hex, in arguments and in output (for binary data)
  -h, --help         show this help`;

class UsageError extends Error {}

/** The server refused the request, or the key was not found: exit status 1 with this message. */
class CommandError extends Error {}

interface CtlArgs {
  addr: string;
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
};

function parseCtlArgs(argv: string[]): CtlArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        addr: { type: 'string', default: DEFAULT_ADDR },
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
  if (command === undefined) throw new UsageError('missing command (put, get, delete or scan)');
  const expected = OPERANDS[command];
  if (expected === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}: use put, get, delete or scan`);
  if (operands.length !== expected.length) {
    throw new UsageError(`${command} takes ${expected.map((o) => `<${o}>`).join(' ')}, got ${operands.length} argument(s)`);
  }
  if (!/^[1-9]\d*$/.test(values.limit)) throw new UsageError(`--limit must be a positive integer, got ${JSON.stringify(values.limit)}`);
  try {
    parseAddress(values.addr);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { addr: values.addr, cf: values.cf, limit: Number(values.limit), hex: values.hex, command, operands };
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

async function run(args: CtlArgs, client: RawClient): Promise<void> {
  const { cf, hex } = args;
  switch (args.command) {
    case 'put': {
      const key = toBytes(args.operands[0], hex, 'key');
      const value = toBytes(args.operands[1], hex, 'value');
      checkResponse(await client.rawPut(kvrpcpb.RawPutRequest({ key, value, cf })));
      console.log('OK');
      return;
    }
    case 'get': {
      const key = toBytes(args.operands[0], hex, 'key');
      const resp = await client.rawGet(kvrpcpb.RawGetRequest({ key, cf }));
      checkResponse(resp);
      if (resp.notFound) throw new CommandError(`not found: ${args.operands[0]} (column family ${cf || 'default'})`);
      console.log(fromBytes(resp.value, hex));
      return;
    }
    case 'delete': {
      const key = toBytes(args.operands[0], hex, 'key');
      checkResponse(await client.rawDelete(kvrpcpb.RawDeleteRequest({ key, cf })));
      console.log('OK');
      return;
    }
    case 'scan': {
      const startKey = toBytes(args.operands[0], hex, 'startKey');
      const resp = await client.rawScan(kvrpcpb.RawScanRequest({ startKey, limit: args.limit, cf }));
      checkResponse(resp);
      for (const kv of resp.kvs) console.log(`${fromBytes(kv.key, hex)}\t${fromBytes(kv.value, hex)}`);
      return;
    }
  }
}

async function main(): Promise<number> {
  let args: CtlArgs | 'help';
  try {
    args = parseCtlArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`tinykv-ctl: ${err.message} (see tinykv-ctl --help)`);
    return 2;
  }
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  const client = new RawClient(args.addr);
  try {
    await run(args, client);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tinykv-ctl: ${err.message} (see tinykv-ctl --help)`);
      return 2;
    }
    console.error(`tinykv-ctl: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    client.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`tinykv-ctl: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
