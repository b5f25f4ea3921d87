import type { ModelInfo } from '@labelq/contracts';

/** `GET /v1/models` entries for API tests that never run a worker (names only matter there). */
export function modelInfos(names: readonly string[]): ModelInfo[] {
  return names.map((name) => ({
    name,
    version: '1',
    task: 'classify',
    sha256: '0'.repeat(64),
    description: `test model ${name}`,
    labels: ['a', 'b'],
  }));
}
