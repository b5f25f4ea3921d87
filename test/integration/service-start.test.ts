// Both service entry points refuse a bad environment the same way: one clean line naming the variable on
// stderr, no stack trace, exit 2 (a configuration error, distinct from 1 for a dependency that failed).
import { describe, expect, it } from 'vitest';
import { runScript } from '../helpers/run-script.ts';

const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

describe('service start with a bad environment variable', () => {
  it.each([
    ['api', 'services/api/src/main.ts', { API_PORT: 'eighty' }, 'API_PORT'],
    ['api', 'services/api/src/main.ts', { REDIS_URL: 'not a url' }, 'REDIS_URL'],
    ['worker', 'services/worker/src/main.ts', { JOB_ATTEMPTS: '0' }, 'JOB_ATTEMPTS'],
  ])('%s with %j exits 2 naming it', async (service, script, env, name) => {
    const result = await runScript(script, [], { ...base, ...env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`labelq ${service}:`);
    expect(result.stderr).toContain(name);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });
});
