// Writes proto/gen/registry.ts: the map from wire type names to TypeScript types, the list of all
// message type names, their factories, and the services' method tables.

import { generatedHeader } from './emit-types.ts';
import type { MessageModel, PackageModel } from './schema.ts';

export function emitRegistry(packages: PackageModel[]): string {
  const messages: MessageModel[] = [];
  for (const p of packages) for (const d of p.decls) if (d.what === 'message') messages.push(d.message);
  const services = packages.flatMap((p) => p.services);
  const imported = packages.filter((p) => p.decls.some((d) => d.what === 'message') || p.services.length > 0);

  const out: string[] = [generatedHeader('the .proto files in proto/')];
  out.push(imported.map((p) => `import * as ${p.name} from './${p.name}.ts';`).join('\n') + '\n');

  out.push('/** Every message type, by its full proto name. */');
  out.push('export interface WireTypes {');
  for (const m of messages) out.push(`  '${m.ref.wireName}': ${m.ref.pkg}.${m.ref.tsName};`);
  out.push('}\n');
  out.push('export type WireTypeName = keyof WireTypes;\n');

  out.push('/** All message type names, grouped by package, in declaration order. */');
  out.push('export const WIRE_TYPE_NAMES: readonly WireTypeName[] = [');
  for (const m of messages) out.push(`  '${m.ref.wireName}',`);
  out.push('];\n');

  out.push('/** The factory (defaults filled in) of every message type. */');
  out.push('export const FACTORIES: { readonly [K in WireTypeName]: (init?: Partial<WireTypes[K]>) => WireTypes[K] } = {');
  for (const m of messages) out.push(`  '${m.ref.wireName}': ${m.ref.pkg}.${m.ref.tsName},`);
  out.push('};\n');

  out.push('/** Every gRPC service, by its full proto name: method name -> path, message types, streaming flags. */');
  out.push('export const SERVICES = {');
  for (const s of services) out.push(`  '${s.pkg}.${s.name}': ${s.pkg}.${s.name},`);
  out.push('} as const;\n');
  out.push('export type ServiceName = keyof typeof SERVICES;');
  return out.join('\n') + '\n';
}
