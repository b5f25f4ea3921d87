import {
  acceptedSchema,
  bulkAcceptedSchema,
  errorBodySchema,
  imageStatusBodySchema,
  modelListSchema,
} from '@labelq/contracts';
import { z } from 'zod';

/**
 * Response schemas for the OpenAPI document, generated from the contracts (responses are serialised with
 * JSON.stringify, not from these): one definition of every body.
 */
export function openapi(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output', unrepresentable: 'any' });
  delete json.$schema;
  return json;
}

export const errorResponse = openapi(errorBodySchema);
export const acceptedResponse = openapi(acceptedSchema);
export const bulkAcceptedResponse = openapi(bulkAcceptedSchema);
export const imageStatusResponse = openapi(imageStatusBodySchema);
export const modelListResponse = openapi(modelListSchema);

/** The 4xx/5xx entries every route documents. */
export const errorResponses = { '4xx': errorResponse, '5xx': errorResponse } as const;

/** The 200 of a Server-Sent Events route, for the OpenAPI document (events are described in the route's text). */
export const eventStreamResponse = {
  description: 'text/event-stream',
  content: { 'text/event-stream': { schema: { type: 'string' } } },
} as const;
