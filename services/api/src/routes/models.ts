import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.ts';
import { errorResponses, modelListResponse } from '../http/response-schemas.ts';

/** `GET /models` (under `/v1`): the models workers load, what `models=` may name. */
export function modelRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const body = { models: deps.models };
  app.get(
    '/models',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['models'],
        summary: 'The models workers load',
        description:
          'Name (what `models` names in a request), manifest version, task (`classify` or `detect`), the ' +
          '.onnx sha256 recorded in every result, and the labels the model can give.',
        response: { 200: modelListResponse, ...errorResponses },
      },
    },
    () => body,
  );
}
