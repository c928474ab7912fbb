// The direct-convolution kernels for AVX-512F (16 lanes, 32 registers), compiled with a
// function-level target attribute and chosen at run time (conv2d.c).
#include "conv2d_internal.h"

#if MLK_X86
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)

typedef float mlk_vec16 __attribute__((vector_size(64)));
typedef float mlk_vec16u __attribute__((vector_size(64), aligned(4)));

#define VEC mlk_vec16
#define VECU mlk_vec16u
#define VL 16
#define VSPLAT(s) ((VEC)_mm512_set1_ps(s))
#define VFMA(a, b, c) ((VEC)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#define NAME(x) x##_avx512
#define FWD_OB 8
#define FWD_NV 3
#define WG_OBV 4
#define WG_RB(kw, obv) ((kw) == 3 ? ((obv) == 1 ? 8 : (obv) == 2 ? 4 : 2) : ((obv) <= 3 ? 8 : 6))

#include "conv2d_kernels.h"

#pragma clang attribute pop
#endif
