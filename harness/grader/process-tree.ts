/**
 * The memory a process and everything it started use together (Linux /proc): what the grader's memory limit
 * measures, since a worker's own figure misses its children and a sandbox's wrapper process.
 */
import fs from 'node:fs';

const PAGE_BYTES = 4096;

/** Parent of every process now alive, and its resident pages (from /proc/<pid>/stat). */
function processTable(): Map<number, { parent: number; rssPages: number }> {
  const table = new Map<number, { parent: number; rssPages: number }>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return table; // not Linux: no figures
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    table.set(Number(name), { parent: Number(fields[1]), rssPages: Number(fields[21]) });
  }
  return table;
}

/** Resident bytes of `pid` and all its descendants (0 when it is gone). */
export function treeRssBytes(pid: number): number {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [child, { parent }] of table) children.set(parent, [...(children.get(parent) ?? []), child]);
  let pages = 0;
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    pages += table.get(p)?.rssPages ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return pages * PAGE_BYTES;
}
