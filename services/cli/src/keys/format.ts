// Human output of `labelq keys`. Nothing here ever prints a key's hash; only `created` prints the key itself.
import type { ApiKeyInfo, CreatedApiKey } from '@labelq/contracts';

/** `2026-03-01T12:34:56.789Z` -> `2026-03-01 12:34Z`; absent -> `-`. */
function when(iso: string | undefined): string {
  return iso === undefined ? '-' : `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;
}

function buckets(info: ApiKeyInfo): string {
  return info.buckets?.join(',') ?? '*';
}

/** The one time a key is shown: the key, a warning that it cannot be shown again, and what it grants. */
export function createdText(created: CreatedApiKey): string {
  return `Created ${created.id} for tenant ${created.tenant}. The key, shown only this once:

  ${created.key}

It cannot be shown again (only its hash is stored): keep it in a secret store now.
Clients send it as \`Authorization: Bearer <key>\`.

  id       ${created.id}
  tenant   ${created.tenant}
  scopes   ${created.scopes.join(', ')}
  buckets  ${created.buckets?.join(', ') ?? 'all of S3_ALLOWED_BUCKETS'}
  expires  ${created.expiresAt ?? 'never'}${created.name !== undefined ? `\n  name     ${created.name}` : ''}
`;
}

const COLUMNS = ['ID', 'TENANT', 'SCOPES', 'BUCKETS', 'CREATED', 'LAST USED', 'EXPIRES', 'REVOKED', 'NAME'];

/** A table of keys, one row each (buckets `*`: all of S3_ALLOWED_BUCKETS; times in UTC to the minute). */
export function keysTable(keys: readonly ApiKeyInfo[]): string {
  const rows = keys.map((k) => [
    k.id,
    k.tenant,
    k.scopes.join(','),
    buckets(k),
    when(k.createdAt),
    when(k.lastUsedAt),
    when(k.expiresAt),
    when(k.revokedAt),
    k.name ?? '',
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS), ...rows.map(line)].join('\n') + '\n';
}

export function revokedText(info: ApiKeyInfo, already: boolean): string {
  return already
    ? `${info.id} (tenant ${info.tenant}) was already revoked at ${info.revokedAt}\n`
    : `Revoked ${info.id} (tenant ${info.tenant}, scopes ${info.scopes.join(', ')}): refused from now on\n`;
}
