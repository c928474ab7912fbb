// The direct-convolution kernels for AVX2 + FMA (8 lanes, 16 registers), compiled with a
// function-level target attribute and chosen at run time (conv2d.c), so the rest of the binary
// keeps the baseline x86-64 target.
#include "conv2d_internal.h"

#if MLK_X86
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

typedef float mlk_vec8 __attribute__((vector_size(32)));
typedef float mlk_vec8u __attribute__((vector_size(32), aligned(4)));

#define VEC mlk_vec8
#define VECU mlk_vec8u
#define VL 8
#define VSPLAT(s) ((VEC)_mm256_set1_ps(s))
#define VFMA(a, b, c) ((VEC)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#define NAME(x) x##_avx2
#define FWD_OB 4
#define FWD_NV 3
#define WG_OBV 4
#define WG_RB(kw, obv) ((kw) == 3 ? ((obv) == 1 ? 4 : (obv) == 2 ? 2 : 1) : ((obv) == 1 ? 8 : (obv) == 2 ? 6 : (obv) == 3 ? 4 : 3))

#include "conv2d_kernels.h"

#pragma clang attribute pop
#endif
