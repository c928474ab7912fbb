#ifndef MLCORE_CINTRINSICS_H
#define MLCORE_CINTRINSICS_H

// Compiler intrinsics Swift has no spelling for. Header-only: each is a static inline wrapper.

/// Asks the CPU to start loading the cache line holding `p` for a read soon (no fault if `p` is
/// not mapped; a hint only). The histogram kernels use it on rows a few iterations ahead.
static inline void mlcore_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
