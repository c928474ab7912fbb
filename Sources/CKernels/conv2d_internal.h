// Declarations shared by the direct-convolution driver (conv2d.c) and the per-instruction-set
// kernel files. Not a public header.
#ifndef MLCORE_CKERNELS_CONV2D_INTERNAL_H
#define MLCORE_CKERNELS_CONV2D_INTERNAL_H

#include <stddef.h>

#if defined(__x86_64__) || defined(_M_X64)
#define MLK_X86 1
#else
#define MLK_X86 0
#endif

// The largest forward tile height and vector width of any instruction set: the driver sizes and
// pads its buffers for these, so one layout serves every kernel.
#define MLK_MAX_OB 8
#define MLK_MAX_VL 16

#define MLK_DECLARE_KERNELS(suffix)                                                                             \
    void mlk_fwd_##suffix(const float *in, const ptrdiff_t *off, int K, const float *wpk, int oblocks, float *out, \
                          ptrdiff_t ostride, int qvec);                                                         \
    void mlk_wgrad_##suffix(const float *in, const ptrdiff_t *roff, int R, int kw, int s, ptrdiff_t rowstep,     \
                            int ho, int wo, const float *dyT, ptrdiff_t opad, float *acc);

MLK_DECLARE_KERNELS(portable)
#if MLK_X86
MLK_DECLARE_KERNELS(avx2)
MLK_DECLARE_KERNELS(avx512)
#endif

#endif
