#ifndef MLCORE_CKERNELS_H
#define MLCORE_CKERNELS_H

// MLCore's own compute kernels, in C because Swift cannot choose an instruction set per function
// at run time (its default x86-64 target has neither AVX2 nor FMA). Plain pointers and sizes;
// every call is single-threaded and deterministic (a fixed order of operations for a given
// instruction set and geometry). See docs/neural-networks.md, "Direct convolution".

#include <stddef.h>

/// Instruction sets the kernels are built for. Every x86-64 (and arm64) machine has the portable
/// one; the others are chosen at run time when the CPU (and the OS) support them.
enum {
    MLK_ISA_PORTABLE = 0,   // plain C vectorised by the compiler for the baseline target
    MLK_ISA_AVX2 = 1,       // AVX2 + FMA, 8-wide
    MLK_ISA_AVX512 = 2,     // AVX-512F, 16-wide
};

/// 1 if this machine can run `isa`'s kernels, else 0.
int mlk_isa_supported(int isa);
/// The widest supported instruction set.
int mlk_isa_best(void);

/// A 2-D convolution over NCHW float32: `images` images of `in_channels × in_height × in_width`,
/// weights `[out_channels, in_channels, kernel_height, kernel_width]` (PyTorch's layout), one
/// stride for both dimensions, explicit paddings, no dilation, one group. The output is
/// `out_channels × out_height × out_width` with
/// `out_height = (in_height + pad_top + pad_bottom − kernel_height) / stride + 1` (likewise width).
typedef struct {
    int images;
    int in_channels, in_height, in_width;
    int out_channels, kernel_height, kernel_width;
    int stride;
    int pad_top, pad_left, pad_bottom, pad_right;
} mlk_conv2d;

/// 1 if the direct kernels handle `g`: positive sizes, stride ≥ 1, paddings in
/// `0 … kernel − 1`, an output of at least one pixel, and sizes whose products fit the kernels'
/// index arithmetic.
int mlk_conv2d_supported(const mlk_conv2d *g);

/// Floats of scratch each of the three calls below needs for `g` (the maximum of the three; it
/// does not depend on `images`). The scratch may be uninitialised; it is clobbered.
size_t mlk_conv2d_scratch_floats(const mlk_conv2d *g);

/// `y = conv(x, weight) + bias` (`bias` may be NULL). `y` is overwritten.
void mlk_conv2d_forward(int isa, const mlk_conv2d *g, const float *x, const float *weight, const float *bias,
                        float *y, float *scratch);

/// The input gradient: `dx` (overwritten) of `Σ y·dy` — the correlation of `dy` with the flipped,
/// transposed kernel (for stride s > 1, one such correlation per phase of `dx` modulo s).
void mlk_conv2d_backward_data(int isa, const mlk_conv2d *g, const float *dy, const float *weight, float *dx,
                              float *scratch);

/// The weight gradient added into `dweight` (`[out, in, kh, kw]`): `dW[o, c, i, j] += Σ_{n, oy, ox}
/// dy[n, o, oy, ox] · x[n, c, oy·s − pad_top + i, ox·s − pad_left + j]`, and `Σ dy` per output
/// channel added into `dbias` unless it is NULL.
void mlk_conv2d_backward_filter(int isa, const mlk_conv2d *g, const float *x, const float *dy, float *dweight,
                                float *dbias, float *scratch);

#endif
