// The FinalizationRegistry backstop: an object the application forgot to free() is freed
// after the garbage collector has reclaimed its wrapper, through the same guarded path as
// free() (stack wiped afterwards; after poisoning only detached, never a call into the broken
// instance). free() stays the deterministic path: finalisers run late or, at page unload, not
// at all (ECMA-262 §9.13: no guarantee when or whether a cleanup callback runs).
//
// The registry holds each glue object strongly (as the held value) until the wrapper dies, so
// the glue's own finaliser, which would call the instance's free directly, never fires first:
// `release` unregisters it (the glue's free / __destroy_into_raw do).

/** `{ track(owner, inner), untrack(owner) }` over `release(inner)`, a no-op where FinalizationRegistry is missing. */
export function backstop(release) {
  if (typeof FinalizationRegistry !== 'function') {
    return { track() {}, untrack() {} };
  }
  const registry = new FinalizationRegistry((inner) => {
    try {
      release(inner);
    } catch {
      // A finaliser has no caller to report to; a trap has already poisoned the instance.
    }
  });
  return {
    track(owner, inner) {
      registry.register(owner, inner, owner);
    },
    untrack(owner) {
      registry.unregister(owner);
    },
  };
}
