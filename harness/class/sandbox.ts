/**
 * The class grader's sandbox: every worker of a submission runs inside bubblewrap (Debian's bubblewrap
 * package; harness/tools/ensure-bwrap.sh installs it), in namespaces of its own:
 *
 *   - file system: an empty root, read-only, holding only the system (/usr, /etc), node, the kit's harness,
 *     suites, protos and node_modules (read-only), the submission's assembled code (read-only) and the
 *     submission's scratch directory (the only writable place: TMPDIR, HOME, traces). The reference, the
 *     other submissions, the kit's .git and .tmp are not there at all;
 *   - no network (a loopback of its own), its own process, IPC and host-name namespaces, no capabilities;
 *   - it dies with the grader (--die-with-parent), and the pool kills its whole process group on a timeout.
 *
 * Time and memory limits are the pool's (pool.ts: the run budget, and memoryLimitBytes over the worker's
 * whole process tree); the worker's heap is bounded by node's --max-old-space-size too.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkerCommand } from '../grader/pool.ts';

export interface SandboxPaths {
  /** The kit's root (its harness, proto, node_modules and package.json are mounted read-only). */
  kitRoot: string;
  /** The submission's assembled implementation (read-only). */
  implDir: string;
  /** The submission's scratch directory (read-write). */
  scratchDir: string;
}

/** What of the kit a worker needs: the grader and suites, the protos, the packages, the module settings. */
const KIT_PARTS = ['harness', 'proto', 'node_modules', 'package.json', 'tsconfig.json'];
/** The system's top directories; on Debian most are links into /usr. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32', '/etc'];

let bwrapPath: string | undefined;

/** The bwrap binary (installed by harness/tools/ensure-bwrap.sh when missing). Throws with the reason. */
export function findBwrap(kitRoot: string): string {
  if (bwrapPath !== undefined) return bwrapPath;
  try {
    bwrapPath = execFileSync(path.join(kitRoot, 'harness/tools/ensure-bwrap.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`the class grader needs bubblewrap (bwrap) and could not install it: ${stderr.trim() || String(err)}`);
  }
  return bwrapPath;
}

/** The bwrap options that build the sandbox (see the module comment). */
export function sandboxArgs(paths: SandboxPaths): string[] {
  const args = ['--die-with-parent', '--unshare-all', '--new-session', '--cap-drop', 'ALL'];
  for (const dir of SYSTEM_DIRS) {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(dir), dir);
    else if (stat.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  // node itself, when it lives outside /usr (nvm, a tarball under /opt).
  const nodeDir = path.dirname(path.dirname(fs.realpathSync(process.execPath)));
  if (!SYSTEM_DIRS.some((d) => nodeDir === d || nodeDir.startsWith(`${d}/`))) args.push('--ro-bind', nodeDir, nodeDir);
  args.push('--proc', '/proc', '--dev', '/dev');
  for (const part of KIT_PARTS) {
    const full = path.join(paths.kitRoot, part);
    if (fs.existsSync(full)) args.push('--ro-bind', fs.realpathSync(full), full);
  }
  args.push('--ro-bind', paths.implDir, paths.implDir);
  args.push('--bind', paths.scratchDir, paths.scratchDir);
  args.push('--chdir', paths.kitRoot, '--remount-ro', '/');
  return args;
}

/** Environment inside the sandbox: only what a worker needs (none of the grader's own variables). */
function sandboxEnv(outer: NodeJS.ProcessEnv, paths: SandboxPaths): NodeJS.ProcessEnv {
  // TINYKV_TEST_RUN: npm test's mark on every process it starts, so that its last step finds leftovers here too.
  const keep = ['IMPL', 'FORCE_COLOR', 'NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE', 'LANG', 'TZ', 'TINYKV_TEST_RUN'];
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: paths.scratchDir, TMPDIR: path.join(paths.scratchDir, 'tmp') };
  for (const name of keep) if (outer[name] !== undefined) env[name] = outer[name];
  return env;
}

/** A pool launcher (pool.ts `launch`) that starts each worker inside the sandbox. */
export function sandboxLauncher(paths: SandboxPaths): (command: WorkerCommand) => WorkerCommand {
  const bwrap = findBwrap(paths.kitRoot);
  fs.mkdirSync(path.join(paths.scratchDir, 'tmp'), { recursive: true });
  const args = sandboxArgs(paths);
  return (command) => ({ file: bwrap, args: [...args, command.file, ...command.args], env: sandboxEnv(command.env, paths) });
}

/**
 * Starts node once inside the sandbox and throws a clear error if that fails (no user namespaces, a kernel
 * that forbids them, a missing mount): better than every run of every submission failing "could not start".
 */
export function checkSandbox(paths: SandboxPaths): void {
  const bwrap = findBwrap(paths.kitRoot);
  fs.mkdirSync(path.join(paths.scratchDir, 'tmp'), { recursive: true });
  const trial = spawnSync(bwrap, [...sandboxArgs(paths), process.execPath, '-e', "require('node:fs').readdirSync('node_modules')"], {
    cwd: paths.kitRoot,
    env: sandboxEnv(process.env, paths),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (trial.status !== 0) {
    const why = (trial.stderr || trial.error?.message || `exit status ${trial.status}`).trim();
    throw new Error(
      `the sandbox does not work on this machine (bubblewrap could not start node): ${why}\n` +
        'bubblewrap needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu also ' +
        'kernel.apparmor_restrict_unprivileged_userns=0), or to run as root with CAP_SYS_ADMIN',
    );
  }
}
