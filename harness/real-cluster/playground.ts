/**
 * make cluster: a scheduler and N stores of IMPL on loopback, their data under one directory (kept between
 * runs), the addresses printed. Ctrl-C (or SIGTERM) stops them all cleanly; if one of them dies on its own,
 * the others are stopped too and its output is shown.
 *
 *   npx tsx harness/real-cluster/playground.ts [--dir DIR] [--stores N] [--impl DIR] [--slow]
 *
 * By default the stores use TinyKV's test settings (fast ticks and heartbeats, regions split at 1 MiB) so
 * that splits and moves show within seconds; --slow keeps the real defaults.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultImpl } from '../tools/default-impl.ts';
import { fastStoreArgs, startServer, stopAll, type ServerProcess } from './processes.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: '.tmp/cluster' },
      stores: { type: 'string', default: '3' },
      impl: { type: 'string' },
      slow: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const count = Number(values.stores);
  if (!Number.isInteger(count) || count < 1 || count > 9) {
    console.error(`cluster: --stores must be a whole number from 1 to 9, got ${values.stores}`);
    return 2;
  }
  const impl = path.resolve(values.impl ?? process.env.IMPL ?? defaultImpl(process.cwd()));
  const dir = path.resolve(values.dir);
  fs.mkdirSync(dir, { recursive: true });
  const servers: ServerProcess[] = [];
  let stopping = false;
  const stop = async (why: string): Promise<number> => {
    if (stopping) return 1;
    stopping = true;
    console.log(`cluster: ${why}; stopping ${servers.length} process(es)`);
    const codes = await stopAll(servers);
    for (const [name, code] of codes) console.log(`  ${name}: exit ${code}`);
    return [...codes.values()].every((c) => c === 0) ? 0 : 1;
  };
  const done = new Promise<number>((resolve) => {
    process.on('SIGINT', () => void stop('Ctrl-C').then(resolve));
    process.on('SIGTERM', () => void stop('SIGTERM').then(resolve));
  });
  try {
    const scheduler = await startServer('scheduler', impl, 'tinyscheduler-server.ts', ['--path', path.join(dir, 'scheduler'), '--addr', '127.0.0.1:0', '--max-store-down-time', '30s']);
    servers.push(scheduler);
    for (let i = 1; i <= count; i++) {
      const args = ['--scheduler', scheduler.address, '--path', path.join(dir, `store-${i}`), '--addr', '127.0.0.1:0', ...(values.slow ? [] : fastStoreArgs(1 << 20))];
      servers.push(await startServer(`store-${i}`, impl, 'tinykv-server.ts', args));
    }
  } catch (err) {
    console.error(`cluster: ${err instanceof Error ? err.message : String(err)}`);
    await stop('a process did not start');
    return 1;
  }
  for (const s of servers) {
    void s.exited.then((code) => {
      if (stopping) return;
      console.error(`cluster: ${s.name} (pid ${s.pid}) exited on its own (${code}); its last output:\n${(s.stdout + s.stderr).split('\n').slice(-15).join('\n')}`);
      void stop(`${s.name} died`).then(() => process.exit(1));
    });
  }
  const scheduler = servers[0]!;
  console.log(`cluster up, data in ${dir} (IMPL=${path.relative(process.cwd(), impl) || '.'}):`);
  for (const s of servers) console.log(`  ${s.name.padEnd(10)} ${s.address.padEnd(22)} pid ${s.pid}`);
  console.log(`try:  make ctl ARGS='--scheduler ${scheduler.address} put hello world'`);
  console.log(`      make ctl ARGS='--scheduler ${scheduler.address} regions'`);
  console.log('Ctrl-C stops them all.');
  return done;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`cluster: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
