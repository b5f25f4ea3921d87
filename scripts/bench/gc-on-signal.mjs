// Preloaded into the API by bench:upload-flood (FLOOD_FORCE_GC=1, with --expose-gc): SIGUSR2 runs a full
// garbage collection, so the bench can tell memory still referenced from memory that is only garbage V8 has not
// collected yet (an idle process allocates nothing, so nothing makes it collect).
globalThis.process.on('SIGUSR2', () => globalThis.gc?.());
