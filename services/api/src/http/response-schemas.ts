/** Response schemas for the OpenAPI document (responses are serialised with JSON.stringify, not from these). */

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable error code (packages/errors/src/codes.ts)' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

const links = {
  type: 'object',
  properties: { self: { type: 'string', description: 'GET this for status and result' } },
} as const;

const status = { type: 'string', enum: ['queued', 'active', 'completed', 'failed'] } as const;

export const acceptedSchema = {
  type: 'object',
  required: ['id', 'status', 'links'],
  properties: {
    id: { type: 'string', description: 'Image id, derived from the content (or bucket/key) and model set' },
    status,
    duplicate: {
      type: 'boolean',
      description:
        'True when this submission joined an existing queued, active or completed job or result (nothing new was queued)',
    },
    links,
  },
} as const;

export const bulkAcceptedSchema = {
  type: 'object',
  required: ['count', 'jobs'],
  properties: { count: { type: 'integer' }, jobs: { type: 'array', items: acceptedSchema } },
} as const;

const nullableTime = { type: 'string', format: 'date-time', nullable: true } as const;

export const imageStatusSchema = {
  type: 'object',
  required: ['id', 'status', 'timings', 'links'],
  properties: {
    id: { type: 'string' },
    status,
    timings: {
      type: 'object',
      properties: { submittedAt: nullableTime, startedAt: nullableTime, finishedAt: nullableTime },
    },
    attemptsMade: { type: 'integer' },
    result: {
      type: 'object',
      additionalProperties: true,
      description: 'The result document: per-model labels (and instances) plus `moderation`',
    },
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
    links,
  },
} as const;
