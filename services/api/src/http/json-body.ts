import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LabelqError } from '@labelq/errors';
import { unsupportedMediaType } from './errors.ts';

/**
 * Deepest nesting of objects and arrays a JSON body (or a `metadata` string) may have. V8's JSON.parse copes
 * with any depth, but the API and BullMQ later serialise payloads with the recursive JSON.stringify, which
 * overflows the stack somewhere past a few thousand levels (a 500 at best). The deepest legitimate body is a
 * bulk request: the array (1) → an item (2) → its `metadata` (3) → the client's own data; 32 leaves 29 levels
 * for that, far more than any real metadata needs, and stays far below any stack limit.
 */
export const MAX_JSON_DEPTH = 32;

const OPEN_BRACE = 0x7b; // {
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACE = 0x7d; // }
const CLOSE_BRACKET = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Whether the JSON text `text` nests objects and arrays deeper than `maxDepth`, scanning the raw characters
 * (no parse: one pass, no allocation). Brackets inside strings do not count; `\"` and `\\` escapes are followed.
 * Malformed text is scanned the same way and left to the parser to refuse.
 */
export function jsonDepthExceeds(text: string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH)
        i++; // skip the escaped character, whatever it is (a `\u` escape's hex is harmless)
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** The `invalid_request` error for a body nested deeper than {@link MAX_JSON_DEPTH}. */
export function tooDeepError(what: string): LabelqError {
  return new LabelqError(
    'invalid_request',
    `${what} nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`,
    { details: { maxDepth: MAX_JSON_DEPTH } },
  );
}

/**
 * Replaces Fastify's `application/json` parser by one that refuses bodies nested deeper than
 * {@link MAX_JSON_DEPTH} before parsing them, then parses with Fastify's own parser (which keeps its
 * `__proto__`/`constructor` poisoning protection and its empty-body error). Body limits stay per route.
 */
export function installJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (jsonDepthExceeds(text)) {
        done(tooDeepError('The JSON body'), undefined);
        return;
      }
      // Fastify's parser answers through `done` (its type also allows a promise-returning parser).
      void parseJson(request, text, done);
    },
  );
}

/**
 * A route that declares a body schema takes JSON, and only JSON: any other Content-Type (text/plain, a form,
 * multipart, none at all with a body) answers 415 `unsupported_media_type` before the body is read, rather than
 * being parsed by some other parser and failing validation with a confusing 400. Routes that read their own
 * body (uploads) declare no body schema and are not affected. Runs after `onRequest` (authentication first).
 */
export function requireJsonBodies(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (request.routeOptions.schema?.body === undefined) return payload;
    const type = request.headers['content-type'];
    const length = request.headers['content-length'];
    const hasBody =
      request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    // No body and no type: validation says what is missing.
    if (type === undefined && !hasBody) return payload;
    const mediaType = type?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json') {
      throw unsupportedMediaType(request, { accepts: 'application/json' });
    }
    return payload;
  });
}
