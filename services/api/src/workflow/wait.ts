import { LabelqError } from '@labelq/errors';

/** How long a request asked to wait: from `?wait=N`, else `Prefer: wait=N`; 0 when neither. */
export interface WaitRequest {
  seconds: number;
  /** True when it came from the Prefer header (the answer then carries `Preference-Applied`). */
  fromPrefer: boolean;
}

function parseSeconds(raw: string, where: string, max: number): number {
  const trimmed = raw.trim();
  if (!/^\d{1,6}$/.test(trimmed) || Number(trimmed) > max) {
    throw new LabelqError(
      'wait_invalid',
      `${where} must be a whole number of seconds from 0 to ${max} (MAX_WAIT_SECONDS), got "${trimmed.slice(0, 20)}"`,
      { details: { max } },
    );
  }
  return Number(trimmed);
}

/**
 * The `wait` preference of RFC 7240 (`Prefer: respond-async, wait=10`): the `wait` token among the header's
 * comma-separated preferences (case-insensitive, optional quotes). Undefined when it is absent.
 */
export function preferWait(header: string | string[] | undefined): string | undefined {
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  for (const value of values) {
    for (const pref of value.split(',')) {
      const [token, ...rest] = pref.split(';')[0]!.split('=');
      if (token?.trim().toLowerCase() === 'wait' && rest.length > 0) {
        return rest
          .join('=')
          .trim()
          .replace(/^"(.*)"$/, '$1');
      }
    }
  }
  return undefined;
}

/**
 * Reads how long to wait. Out of range or malformed is 400 `wait_invalid` from either place (a client that
 * asks for more than the cap is told so rather than silently given less).
 */
export function readWait(query: unknown, prefer: string | string[] | undefined, max: number): WaitRequest {
  const q = (query as Record<string, unknown> | undefined)?.wait;
  if (q !== undefined) {
    if (typeof q !== 'string') throw new LabelqError('wait_invalid', 'Give wait once');
    return { seconds: parseSeconds(q, 'wait', max), fromPrefer: false };
  }
  const p = preferWait(prefer);
  if (p !== undefined) return { seconds: parseSeconds(p, 'Prefer: wait', max), fromPrefer: true };
  return { seconds: 0, fromPrefer: false };
}
