import type { FastifyInstance } from 'fastify';
import {
  imageSearchQuerySchema,
  imageSearchResponseSchema,
  isImageId,
  labelFacetQuerySchema,
  labelFacetResponseSchema,
  similarQuerySchema,
  similarResponseSchema,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { SearchService } from '@labelq/index';
import type { ApiDeps } from '../deps.ts';
import { imageParamsSchema } from '../http/schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { errorResponses, openapi } from '../http/response-schemas.ts';

function service(deps: ApiDeps): SearchService {
  if (deps.search === undefined)
    throw new LabelqError('index_not_configured', 'Search needs the results index: set DATABASE_URL');
  return deps.search;
}

/**
 * The results index (Postgres), under `/v1`, scope `read`, always the caller's tenant: `GET /images` (search),
 * `GET /labels` (facets), `GET /images/:id/similar` (near duplicates). Unknown parameters and values out of range
 * are 400 `invalid_request`; a cursor of another tenant or query, or altered, 400 `cursor_invalid`; no index
 * configured 503 `index_not_configured`, Postgres unreachable 503 `index_unavailable`.
 */
export function searchRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/images',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['search'],
        summary: 'Search the indexed images',
        description:
          'Filters combine with AND: `label` (with `minConfidence`, `model`), `decision`, `status`, `batch`, ' +
          '`text` (OCR text, web-search syntax), `before`/`after` (when the result was written), `blurry`. ' +
          'Newest first; `limit` per page (default 50, at most 500); pass `nextCursor` back as `cursor` with ' +
          'the same filters for the next page. The index follows classification within seconds.',
        querystring: zodJsonSchema(imageSearchQuerySchema),
        response: { 200: openapi(imageSearchResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const query = parseOrThrow(imageSearchQuerySchema, request.query, 'query');
      return service(deps).searchImages(request.principal.tenant, query);
    },
  );

  app.get(
    '/labels',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['search'],
        summary: 'Label facets: how many images carry each label',
        description:
          'Most frequent first; optionally within a `batch`, for one `model`, above `minConfidence`.',
        querystring: zodJsonSchema(labelFacetQuerySchema),
        response: { 200: openapi(labelFacetResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const query = parseOrThrow(labelFacetQuerySchema, request.query, 'query');
      return service(deps).labelFacets(request.principal.tenant, query);
    },
  );

  app.get(
    '/images/:id/similar',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['search'],
        summary: 'Near duplicates of an image',
        description:
          'Images whose 64-bit perceptual hash is within `maxDistance` bits (default 10, at most 15) of this ' +
          "one's, nearest first: re-encoded, resized or lightly edited copies. 409 `no_perceptual_hash` for an " +
          'image that failed.',
        params: zodJsonSchema(imageParamsSchema),
        querystring: zodJsonSchema(similarQuerySchema),
        response: { 200: openapi(similarResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const query = parseOrThrow(similarQuerySchema, request.query, 'query');
      if (!isImageId(id)) throw new LabelqError('not_found', 'No such image in the index');
      return service(deps).similar(request.principal.tenant, id, query);
    },
  );
}
