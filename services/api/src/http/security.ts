import type { FastifyHelmetOptions } from '@fastify/helmet';

/**
 * The policy for every response: JSON is never a page, so nothing may load from it and nothing may frame it.
 * (The API serves no HTML: `/docs/json` is the OpenAPI document itself, no Swagger UI.)
 */
// Written as helmet writes it (no space after the semicolon), so every response carries the same header.
const CONTENT_SECURITY_POLICY = "default-src 'none';frame-ancestors 'none'";

/**
 * `@fastify/helmet` settings for a JSON API. helmet's defaults are for HTML sites; what changes and why:
 * - CSP `default-src 'none'; frame-ancestors 'none'` instead of the site policy (scripts, styles, fonts).
 * - `X-Frame-Options: DENY` (for browsers without `frame-ancestors`) instead of SAMEORIGIN.
 * - No `Strict-Transport-Security`: the API often runs on plain http (local use, docker-compose, behind a
 *   proxy) and cannot tell whether its host, let alone `includeSubDomains`, is HTTPS-only; a wrong HSTS pins
 *   a whole domain for a year. Whoever terminates TLS for the host sets it.
 * Kept from helmet's defaults: `X-Content-Type-Options: nosniff`, `Cross-Origin-Resource-Policy: same-origin`
 * (other sites cannot embed responses through no-cors requests; CORS is a separate, explicit decision),
 * `Cross-Origin-Opener-Policy`, `Referrer-Policy: no-referrer`, `Origin-Agent-Cluster`,
 * `X-DNS-Prefetch-Control: off`, `X-Download-Options`, `X-Permitted-Cross-Domain-Policies: none`,
 * `X-XSS-Protection: 0`.
 */
export const helmetOptions: FastifyHelmetOptions = {
  global: true,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  xFrameOptions: { action: 'deny' },
  strictTransportSecurity: false,
};

/**
 * The headers that matter for a bare error written straight to the socket (a 408 or 431 answered before
 * Fastify, and so helmet, sees the request).
 */
export const RAW_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};
