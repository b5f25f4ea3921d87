import type { FastifySchema, FastifySchemaCompiler } from 'fastify';
import { LabelqError } from '@labelq/errors';
import { z } from 'zod';

type Part = 'body' | 'querystring' | 'params' | 'headers';

/** Zod schema behind each JSON schema handed to Fastify; the JSON schema itself only feeds the OpenAPI doc. */
const zodFor = new WeakMap<object, z.ZodType>();

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** A short, readable message for a failed parse, naming where each problem is (first few only). */
export function describeIssues(part: string, error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((i) => `${part}${pathOf(i.path)}: ${i.message}`);
  const more = error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '';
  return shown.join('; ') + more;
}

/** Parses `value` with `schema`, throwing `invalid_request` with a clear message on failure. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, part: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new LabelqError('invalid_request', describeIssues(part, parsed.error));
  return parsed.data;
}

/**
 * A JSON schema for the OpenAPI document, remembered as standing for `schema` so {@link zodValidatorCompiler}
 * validates with zod (one source of truth, zod's messages).
 */
export function zodJsonSchema(schema: z.ZodType, docSchema: z.ZodType = schema): Record<string, unknown> {
  const json = z.toJSONSchema(docSchema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' });
  delete json.$schema;
  zodFor.set(json, schema);
  return json;
}

const partNames: Record<Part, string> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

/** Validates route parts with their zod schemas; errors are `invalid_request` LabelqErrors. */
export const zodValidatorCompiler: FastifySchemaCompiler<FastifySchema> = ({ schema, httpPart }) => {
  const zodSchema = typeof schema === 'object' && schema !== null ? zodFor.get(schema) : undefined;
  if (!zodSchema) throw new Error(`Route schema for ${String(httpPart)} was not built with zodJsonSchema()`);
  const name = partNames[(httpPart ?? 'body') as Part] ?? String(httpPart);
  return (data: unknown) => {
    const parsed = zodSchema.safeParse(data);
    // Validation only: handlers parse again for typed output (the input shape, e.g. one job vs a list, matters).
    if (parsed.success) return { value: data };
    return { error: new LabelqError('invalid_request', describeIssues(name, parsed.error)) };
  };
};
