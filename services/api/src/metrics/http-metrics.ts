import type { FastifyInstance } from 'fastify';
import type { ApiMetrics } from './api-metrics.ts';

/**
 * Times every request (`labelq_http_request_duration_seconds`) by its route template (`/v1/images/:id`, never
 * the path a client sent: an unmatched path counts as `unmatched`), and serves `GET /metrics` (Prometheus text,
 * no API key: aggregates only, for a scraper inside the cluster; keep it off the public ingress).
 */
export function installHttpMetrics(app: FastifyInstance, metrics: ApiMetrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.http.observe(
      {
        method: request.method,
        route: reply.statusCode === 404 && route === '/*' ? 'unmatched' : route,
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await metrics.render();
    return reply
      .header('content-type', metrics.registry.contentType)
      .header('cache-control', 'no-store')
      .send(text);
  });
}
