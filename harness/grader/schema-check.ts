/**
 * A JSON Schema check for the subset of JSON Schema the kit's own schemas use (report-schema.json): type
 * (one or a list), const, enum, minimum, maximum, properties, required, additionalProperties: false, items.
 * Anything else in a schema is an error, so a schema cannot silently mean more than is checked.
 */

type Schema = Record<string, unknown>;

const KNOWN = new Set(['$schema', '$id', 'title', 'description', 'type', 'const', 'enum', 'minimum', 'maximum', 'properties', 'required', 'additionalProperties', 'items']);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

/** The problems of `value` against `schema`, each naming where (a JSON path); [] when it conforms. */
export function checkSchema(value: unknown, schema: Schema, where = '$'): string[] {
  for (const key of Object.keys(schema)) {
    if (!KNOWN.has(key)) throw new Error(`schema at ${where} uses "${key}", which this checker does not support`);
  }
  const problems: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => matchesType(value, t))) return [`${where}: expected ${types.join(' or ')}, got ${typeOf(value)}`];
  }
  if ('const' in schema && value !== schema.const) problems.push(`${where}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum !== undefined && !(schema.enum as unknown[]).includes(value)) problems.push(`${where}: not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) problems.push(`${where}: ${value} < minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) problems.push(`${where}: ${value} > maximum ${schema.maximum}`);
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in obj)) problems.push(`${where}: missing "${key}"`);
    for (const [key, v] of Object.entries(obj)) {
      if (props[key] !== undefined) problems.push(...checkSchema(v, props[key]!, `${where}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${where}: unexpected "${key}"`);
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => problems.push(...checkSchema(item, schema.items as Schema, `${where}[${i}]`)));
  }
  return problems;
}
