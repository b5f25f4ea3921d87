// Keyset cursors: the last row's (finished_at, id), bound to the tenant and the filters, HMAC-signed with a key
// every API replica shares (kept in labelq.secrets). A cursor from another tenant, for other filters, or altered
// in any byte is `cursor_invalid`; none of them can widen what a caller sees.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LabelqError } from '@labelq/errors';
import type { Pool } from 'pg';

export interface CursorPosition {
  /** finished_at as Postgres prints it (microseconds, UTC). */
  finishedAt: string;
  id: string;
}

interface CursorPayload {
  v: 1;
  /** Tenant. */
  t: string;
  /** sha256 of the canonical filters, first 16 hex digits. */
  q: string;
  f: string;
  i: string;
}

/** Canonical JSON of the filters (sorted keys, undefined dropped) hashed: what a cursor is bound to. */
export function filtersDigest(filters: Record<string, unknown>): string {
  const canonical = Object.keys(filters)
    .filter((k) => filters[k] !== undefined)
    .sort()
    .map((k) => [k, filters[k]]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16);
}

export class CursorCodec {
  constructor(private readonly key: Buffer) {}

  encode(tenant: string, filters: Record<string, unknown>, position: CursorPosition): string {
    const payload: CursorPayload = {
      v: 1,
      t: tenant,
      q: filtersDigest(filters),
      f: position.finishedAt,
      i: position.id,
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** The position a cursor names; `cursor_invalid` unless it is ours, unaltered, for this tenant and filters. */
  decode(cursor: string, tenant: string, filters: Record<string, unknown>): CursorPosition {
    const invalid = (why: string): LabelqError =>
      new LabelqError('cursor_invalid', `The cursor is not valid for this query: ${why}`);
    const [body, signature, extra] = cursor.split('.');
    if (body === undefined || signature === undefined || extra !== undefined) throw invalid('malformed');
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('bad signature');
    let payload: CursorPayload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as CursorPayload;
    } catch {
      throw invalid('malformed');
    }
    if (payload.t !== tenant) throw invalid('it belongs to another tenant');
    if (payload.q !== filtersDigest(filters)) throw invalid('it was made for other filters');
    return { finishedAt: payload.f, id: payload.i };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/** The installation's cursor key: made once (by whichever replica is first), then read by all. */
export async function loadCursorKey(pool: Pool): Promise<Buffer> {
  await pool.query(
    "INSERT INTO labelq.secrets (name, value) VALUES ('cursor', $1) ON CONFLICT (name) DO NOTHING",
    [randomBytes(32)],
  );
  const { rows } = await pool.query<{ value: Buffer }>(
    "SELECT value FROM labelq.secrets WHERE name = 'cursor'",
  );
  return rows[0]!.value;
}
