/**
 * The environment for a labelq service process we spawn (worker, API, benchmark children): `base` plus
 * allocator settings unless the caller already chose them.
 *
 * MALLOC_ARENA_MAX=2: glibc gives every thread that allocates its own malloc arena, and libvips + onnxruntime
 * in each pool thread fragment them; capping the arenas lowered the worker's peak RSS by ~55 MB (587 -> 532 MB,
 * `pnpm bench --only pipeline`) at unchanged throughput. infra/Dockerfile and scripts/start.ts (`pnpm start`,
 * which must not import this dev-only package) set the same.
 */
export function serviceProcessEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: '2', ...base };
}
