// The direct-convolution kernels in plain C with GCC/Clang vector types: 4 lanes, which the
// compiler maps to SSE2 (the x86-64 baseline) or NEON. Runs everywhere; no FMA on x86-64.
#include "conv2d_internal.h"

typedef float mlk_vec4 __attribute__((vector_size(16)));
typedef float mlk_vec4u __attribute__((vector_size(16), aligned(4)));

#define VEC mlk_vec4
#define VECU mlk_vec4u
#define VL 4
#define VSPLAT(s) ((float)(s) - (VEC){0})
#define VFMA(a, b, c) ((a) * (b) + (c))
#define NAME(x) x##_portable
#define FWD_OB 4
#define FWD_NV 2
#define WG_OBV 2
#define WG_RB(kw, obv) ((kw) == 3 ? ((obv) == 1 ? 4 : 2) : ((obv) == 1 ? 8 : 6))

#include "conv2d_kernels.h"
