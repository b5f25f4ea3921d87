import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadMigrations } from './migrate.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

describe('embedded migrations', () => {
  it('equal the .sql files in packages/index/migrations (same versions, names and checksums)', async () => {
    const fromFiles = await loadMigrations(MIGRATIONS_DIR);
    expect(fromFiles.length).toBeGreaterThan(0);
    expect(await loadMigrations()).toEqual(fromFiles);
  });
});
