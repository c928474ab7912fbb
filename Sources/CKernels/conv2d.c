// Direct convolution for NCHW float32: the drivers around the register-blocked kernels of
// conv2d_kernels.h. Layouts, in brief (docs/neural-networks.md, "Direct convolution", has more):
//
// - Stride 1 ("correlation plan"): each channel is copied once into a zero-padded plane whose
//   rows are `Wg = W + E` wide, E = max(left, right padding): the right padding of one row is
//   the left padding of the next. Output pixel (oy, ox) becomes grid position q = oy·Wg + ox,
//   and kernel tap (i, j) reads the plane at q + i·Wg + j + E − pad_left: every tap is the
//   plane shifted by a constant, so the convolution is a GEMM whose K = C·kh·kw rows are
//   shifted views of C planes, never written out (no im2col). Grid columns ox ≥ Wo are
//   computed and dropped (1 of 33 columns for ResNet's 32×32 planes, 1 of 9 at 8×8).
// - Stride s > 1: the input is split into s² phase planes (rows ≡ a, columns ≡ b mod s, with
//   the padding), so tap (i, j) reads phase (i mod s, j mod s) shifted by (i div s, j div s):
//   again a sum of shifted planes.
// - Input gradient: for stride 1 the correlation of dy with the flipped, transposed kernel
//   (paddings k − 1 − p), by the same kernel; for stride s, one such correlation per phase of
//   dx (the taps i ≡ a, j ≡ b mod s), scattered back.
// - Weight gradient: a reduction over output pixels with the lanes over output channels
//   (`dyT` pixel-major), each accumulator held in a register for a whole image and carried
//   across images in memory: no horizontal sums.
//
// Scratch comes from the caller; every region starts on a 64-byte boundary relative to it.

#include "CKernels.h"
#include "conv2d_internal.h"

#include <stdint.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Instruction sets

int mlk_isa_supported(int isa) {
    switch (isa) {
    case MLK_ISA_PORTABLE:
        return 1;
#if MLK_X86
    case MLK_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case MLK_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default:
        return 0;
    }
}

int mlk_isa_best(void) {
    if (mlk_isa_supported(MLK_ISA_AVX512)) return MLK_ISA_AVX512;
    if (mlk_isa_supported(MLK_ISA_AVX2)) return MLK_ISA_AVX2;
    return MLK_ISA_PORTABLE;
}

typedef struct {
    int vl;   // lanes
    int ob;   // output channels per forward tile
    void (*fwd)(const float *, const ptrdiff_t *, int, const float *, int, float *, ptrdiff_t, int);
    void (*wgrad)(const float *, const ptrdiff_t *, int, int, int, ptrdiff_t, int, int, const float *, ptrdiff_t, float *);
} mlk_ops;

static const mlk_ops ops_portable = {4, 4, mlk_fwd_portable, mlk_wgrad_portable};
#if MLK_X86
static const mlk_ops ops_avx2 = {8, 4, mlk_fwd_avx2, mlk_wgrad_avx2};
static const mlk_ops ops_avx512 = {16, 8, mlk_fwd_avx512, mlk_wgrad_avx512};
#endif
// The largest tile and vector sizes: scratch sized with these fits every instruction set.
static const mlk_ops ops_sizing = {MLK_MAX_VL, MLK_MAX_OB, NULL, NULL};

/// The kernels for `isa`, or the portable ones when this machine cannot run it (never SIGILL).
static const mlk_ops *ops_for(int isa) {
#if MLK_X86
    if (isa == MLK_ISA_AVX512 && mlk_isa_supported(MLK_ISA_AVX512)) return &ops_avx512;
    if (isa == MLK_ISA_AVX2 && mlk_isa_supported(MLK_ISA_AVX2)) return &ops_avx2;
#else
    (void)isa;
#endif
    return &ops_portable;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

static inline ptrdiff_t round_up(ptrdiff_t v, ptrdiff_t m) { return (v + m - 1) / m * m; }
static inline ptrdiff_t max_pd(ptrdiff_t a, ptrdiff_t b) { return a > b ? a : b; }
static inline int max_i(int a, int b) { return a > b ? a : b; }
static inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static inline int ceil_div(int a, int b) { return -floor_div(-a, b); }

/// Bump allocation in the caller's scratch. With `base == NULL` it only measures (`peak`).
typedef struct {
    float *base;
    size_t used, peak;
} arena;

static float *arena_floats(arena *a, ptrdiff_t count) {
    float *p = a->base ? a->base + a->used : NULL;
    a->used += (size_t)round_up(count > 0 ? count : 0, 16);
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

static ptrdiff_t *arena_offsets(arena *a, ptrdiff_t count) {
    return (ptrdiff_t *)(void *)arena_floats(a, count * (ptrdiff_t)(sizeof(ptrdiff_t) / sizeof(float)));
}

typedef struct {
    int n, C, H, W, O, KH, KW, s, pt, pl, pb, pr, Ho, Wo;
} geometry;

static geometry geometry_of(const mlk_conv2d *g) {
    geometry q = {g->images, g->in_channels, g->in_height, g->in_width, g->out_channels, g->kernel_height,
                  g->kernel_width, g->stride, g->pad_top, g->pad_left, g->pad_bottom, g->pad_right, 0, 0};
    if (q.s > 0) {
        q.Ho = (q.H + q.pt + q.pb - q.KH) / q.s + 1;
        q.Wo = (q.W + q.pl + q.pr - q.KW) / q.s + 1;
    }
    return q;
}

int mlk_conv2d_supported(const mlk_conv2d *g) {
    geometry q = geometry_of(g);
    if (q.n < 0 || q.C < 1 || q.H < 1 || q.W < 1 || q.O < 1 || q.KH < 1 || q.KW < 1 || q.s < 1) return 0;
    if (q.pt < 0 || q.pl < 0 || q.pb < 0 || q.pr < 0) return 0;
    if (q.pt > q.KH - 1 || q.pb > q.KH - 1 || q.pl > q.KW - 1 || q.pr > q.KW - 1) return 0;
    if (q.H + q.pt + q.pb < q.KH || q.W + q.pl + q.pr < q.KW) return 0;
    // Index arithmetic is in ptrdiff_t, tap counts in int: keep every plane and count far from
    // the limits.
    const int64_t limit = (int64_t)1 << 28;
    int64_t planeIn = (int64_t)(q.H + 2 * q.KH) * (q.W + 2 * q.KW), planeOut = (int64_t)(q.Ho + q.KH) * (q.Wo + q.KW);
    if (planeIn > limit || planeOut > limit) return 0;
    if ((int64_t)q.C * planeIn > limit || (int64_t)q.O * planeOut > limit) return 0;
    if ((int64_t)q.C * q.KH * q.KW * q.O > limit) return 0;
    return 1;
}

// ---------------------------------------------------------------------------------------------
// Stride-1 correlation over padded planes

typedef struct {
    int C, H, W;        // source planes
    int KH, KW;         // kernel
    int pt, pl;         // top and left padding (may be negative: rows/columns cropped)
    int Ho, Wo;         // output
    int E, Wg, R;       // zero columns before each row, row length, rows per plane
    ptrdiff_t cs;       // floats per channel plane
    ptrdiff_t Q, qpad;  // grid positions, rounded up to the widest vector
} corr_plan;

static corr_plan corr_make(int C, int H, int W, int KH, int KW, int pt, int pl, int Ho, int Wo) {
    corr_plan p;
    p.C = C; p.H = H; p.W = W; p.KH = KH; p.KW = KW; p.pt = pt; p.pl = pl; p.Ho = Ho; p.Wo = Wo;
    int pr = Wo + KW - 1 - W - pl;
    p.E = max_i(0, max_i(pl, pr));
    p.Wg = W + p.E;
    // Rows read by the grid (Ho + KH − 1) and one more, for the wrap past the last row's end.
    p.R = Ho + KH;
    p.Q = (ptrdiff_t)Ho * p.Wg;
    p.qpad = round_up(p.Q, MLK_MAX_VL);
    ptrdiff_t maxRead = p.qpad - 1 + (ptrdiff_t)(KH - 1) * p.Wg + (KW - 1) + p.E - pl;
    p.cs = round_up(max_pd((ptrdiff_t)p.R * p.Wg, maxRead + 1), 16);
    return p;
}

/// Copies `src` (C × H × W) into the plan's padded planes, zeros everywhere else.
static void corr_fill(const corr_plan *p, const float *src, float *planes) {
    const ptrdiff_t plane = (ptrdiff_t)p->H * p->W;
    for (int c = 0; c < p->C; c++) {
        float *pc = planes + c * p->cs;
        const float *sc = src + c * plane;
        for (int r = 0; r < p->R; r++) {
            float *row = pc + (ptrdiff_t)r * p->Wg;
            int sr = r - p->pt;
            if (sr >= 0 && sr < p->H) {
                memset(row, 0, sizeof(float) * (size_t)p->E);
                memcpy(row + p->E, sc + (ptrdiff_t)sr * p->W, sizeof(float) * (size_t)p->W);
            } else {
                memset(row, 0, sizeof(float) * (size_t)p->Wg);
            }
        }
        // Past the last row: only lanes that are dropped read here, but they must not meet
        // NaN or subnormal garbage (subnormal arithmetic is slow on x86).
        ptrdiff_t used = (ptrdiff_t)p->R * p->Wg;
        memset(pc + used, 0, sizeof(float) * (size_t)(p->cs - used));
    }
}

/// Offsets of the K = C·KH·KW shifted views, in the weights' (c, i, j) order.
static void corr_offsets(const corr_plan *p, ptrdiff_t *off) {
    for (int c = 0; c < p->C; c++)
        for (int i = 0; i < p->KH; i++)
            for (int j = 0; j < p->KW; j++)
                off[(c * p->KH + i) * p->KW + j] = c * p->cs + (ptrdiff_t)i * p->Wg + j + p->E - p->pl;
}

/// Copies the valid part of a grid (channels × rows × cols of positions `Wg` apart) to `dst`
/// with the given channel, row and column strides, adding `bias[c]` when it is not NULL.
static void grid_store(const float *grid, ptrdiff_t gstride, int Wg, int channels, int rows, int cols, float *dst,
                       ptrdiff_t dcs, ptrdiff_t drs, ptrdiff_t dxs, const float *bias) {
    for (int c = 0; c < channels; c++) {
        const float b = bias ? bias[c] : 0.0f;
        for (int r = 0; r < rows; r++) {
            const float *src = grid + c * gstride + (ptrdiff_t)r * Wg;
            float *d = dst + c * dcs + r * drs;
            if (dxs == 1 && !bias) {
                memcpy(d, src, sizeof(float) * (size_t)cols);
            } else if (dxs == 1) {
                for (int x = 0; x < cols; x++) d[x] = src[x] + b;
            } else {
                for (int x = 0; x < cols; x++) d[x * dxs] = src[x];
            }
        }
    }
}

/// Packs `count` output channels' weights for the forward kernel: `wpk[block][k][lane]` =
/// `weight(block·ob + lane, k)`, zero for lanes past `count`. `weight(o, k)` is read through
/// `at(o, k)` so the same packer serves the forward and the flipped, transposed kernels.
#define PACK_WEIGHTS(wpk, count, K, ob, expr)                                                        \
    do {                                                                                            \
        int blocks_ = ((count) + (ob) - 1) / (ob);                                                  \
        for (int blk_ = 0; blk_ < blocks_; blk_++)                                                  \
            for (int k = 0; k < (K); k++)                                                           \
                for (int lane_ = 0; lane_ < (ob); lane_++) {                                        \
                    int o = blk_ * (ob) + lane_;                                                    \
                    (wpk)[((ptrdiff_t)blk_ * (K) + k) * (ob) + lane_] = o < (count) ? (expr) : 0.0f; \
                }                                                                                   \
    } while (0)

// ---------------------------------------------------------------------------------------------
// Forward

typedef struct {
    int Hq, Wq, na, nb;      // phase plane rows and columns; phases used in each dimension
    ptrdiff_t pcs, chs;      // floats per phase plane, per channel (all its phases)
    ptrdiff_t Q, qpad;
} phase_plan;

static phase_plan phase_make(const geometry *q) {
    phase_plan p;
    int s = q->s;
    p.Hq = q->Ho + (q->KH - 1) / s;
    p.Wq = q->Wo + (q->KW - 1) / s;
    p.na = q->KH < s ? q->KH : s;
    p.nb = q->KW < s ? q->KW : s;
    p.Q = (ptrdiff_t)q->Ho * p.Wq;
    p.qpad = round_up(p.Q, MLK_MAX_VL);
    ptrdiff_t maxRead = p.qpad - 1 + (ptrdiff_t)((q->KH - 1) / s) * p.Wq + (q->KW - 1) / s;
    p.pcs = round_up(max_pd((ptrdiff_t)p.Hq * p.Wq, maxRead + 1), 16);
    p.chs = (ptrdiff_t)p.na * p.nb * p.pcs;
    return p;
}

static void phase_fill(const geometry *q, const phase_plan *p, const float *x, float *planes) {
    const int s = q->s;
    for (int c = 0; c < q->C; c++) {
        const float *xc = x + (ptrdiff_t)c * q->H * q->W;
        for (int a = 0; a < p->na; a++) {
            for (int b = 0; b < p->nb; b++) {
                float *pl = planes + c * p->chs + (a * p->nb + b) * p->pcs;
                for (int r = 0; r < p->Hq; r++) {
                    float *row = pl + (ptrdiff_t)r * p->Wq;
                    int iy = s * r + a - q->pt;
                    if (iy < 0 || iy >= q->H) {
                        memset(row, 0, sizeof(float) * (size_t)p->Wq);
                        continue;
                    }
                    const float *xr = xc + (ptrdiff_t)iy * q->W;
                    for (int u = 0; u < p->Wq; u++) {
                        int ix = s * u + b - q->pl;
                        row[u] = ix >= 0 && ix < q->W ? xr[ix] : 0.0f;
                    }
                }
                ptrdiff_t used = (ptrdiff_t)p->Hq * p->Wq;
                memset(pl + used, 0, sizeof(float) * (size_t)(p->pcs - used));
            }
        }
    }
}

static size_t forward_run(const mlk_ops *ops, const geometry *q, const float *x, const float *w, const float *bias,
                          float *y, float *scratch) {
    arena a = {scratch, 0, 0};
    const int T = q->KH * q->KW, K = q->C * T, ob = ops->ob;
    const int oblocks = (q->O + ob - 1) / ob;
    ptrdiff_t *off = arena_offsets(&a, K);
    float *wpk = arena_floats(&a, (ptrdiff_t)oblocks * ob * K);
    const ptrdiff_t xImage = (ptrdiff_t)q->C * q->H * q->W, yImage = (ptrdiff_t)q->O * q->Ho * q->Wo;
    if (q->s == 1) {
        corr_plan p = corr_make(q->C, q->H, q->W, q->KH, q->KW, q->pt, q->pl, q->Ho, q->Wo);
        float *planes = arena_floats(&a, q->C * p.cs);
        float *grid = arena_floats(&a, (ptrdiff_t)oblocks * ob * p.qpad);
        if (!scratch) return a.peak;
        PACK_WEIGHTS(wpk, q->O, K, ob, w[(ptrdiff_t)o * K + k]);
        corr_offsets(&p, off);
        const int qvec = (int)((p.Q + ops->vl - 1) / ops->vl);
        for (int n = 0; n < q->n; n++) {
            corr_fill(&p, x + n * xImage, planes);
            ops->fwd(planes, off, K, wpk, oblocks, grid, p.qpad, qvec);
            grid_store(grid, p.qpad, p.Wg, q->O, q->Ho, q->Wo, y + n * yImage, (ptrdiff_t)q->Ho * q->Wo, q->Wo, 1, bias);
        }
    } else {
        phase_plan p = phase_make(q);
        float *planes = arena_floats(&a, q->C * p.chs);
        float *grid = arena_floats(&a, (ptrdiff_t)oblocks * ob * p.qpad);
        if (!scratch) return a.peak;
        PACK_WEIGHTS(wpk, q->O, K, ob, w[(ptrdiff_t)o * K + k]);
        const int s = q->s;
        for (int c = 0; c < q->C; c++)
            for (int i = 0; i < q->KH; i++)
                for (int j = 0; j < q->KW; j++)
                    off[(c * q->KH + i) * q->KW + j] =
                        c * p.chs + ((i % s) * p.nb + (j % s)) * p.pcs + (ptrdiff_t)(i / s) * p.Wq + j / s;
        const int qvec = (int)((p.Q + ops->vl - 1) / ops->vl);
        for (int n = 0; n < q->n; n++) {
            phase_fill(q, &p, x + n * xImage, planes);
            ops->fwd(planes, off, K, wpk, oblocks, grid, p.qpad, qvec);
            grid_store(grid, p.qpad, p.Wq, q->O, q->Ho, q->Wo, y + n * yImage, (ptrdiff_t)q->Ho * q->Wo, q->Wo, 1, bias);
        }
    }
    return a.peak;
}

void mlk_conv2d_forward(int isa, const mlk_conv2d *g, const float *x, const float *weight, const float *bias, float *y,
                        float *scratch) {
    geometry q = geometry_of(g);
    forward_run(ops_for(isa), &q, x, weight, bias, y, scratch);
}

// ---------------------------------------------------------------------------------------------
// Input gradient

static size_t backward_data_run(const mlk_ops *ops, const geometry *q, const float *dy, const float *w, float *dx,
                                float *scratch) {
    arena a = {scratch, 0, 0};
    const int T = q->KH * q->KW, ob = ops->ob, s = q->s;
    const int cblocks = (q->C + ob - 1) / ob;
    const ptrdiff_t xImage = (ptrdiff_t)q->C * q->H * q->W, yImage = (ptrdiff_t)q->O * q->Ho * q->Wo;
    if (s == 1) {
        // dx = dy ⋆ W′ with W′[c][o][i][j] = W[o][c][kh−1−i][kw−1−j], paddings k − 1 − p.
        const int K = q->O * T;
        corr_plan p = corr_make(q->O, q->Ho, q->Wo, q->KH, q->KW, q->KH - 1 - q->pt, q->KW - 1 - q->pl, q->H, q->W);
        ptrdiff_t *off = arena_offsets(&a, K);
        float *wpk = arena_floats(&a, (ptrdiff_t)cblocks * ob * K);
        float *planes = arena_floats(&a, q->O * p.cs);
        float *grid = arena_floats(&a, (ptrdiff_t)cblocks * ob * p.qpad);
        if (!scratch) return a.peak;
        // k = o·T + t reads W[o][c][T − 1 − t] (both kernel axes flipped).
        PACK_WEIGHTS(wpk, q->C, K, ob, w[((ptrdiff_t)(k / T) * q->C + o) * T + (T - 1 - k % T)]);
        corr_offsets(&p, off);
        const int qvec = (int)((p.Q + ops->vl - 1) / ops->vl);
        for (int n = 0; n < q->n; n++) {
            corr_fill(&p, dy + n * yImage, planes);
            ops->fwd(planes, off, K, wpk, cblocks, grid, p.qpad, qvec);
            grid_store(grid, p.qpad, p.Wg, q->C, q->H, q->W, dx + n * xImage, (ptrdiff_t)q->H * q->W, q->W, 1, NULL);
        }
        return a.peak;
    }
    // Stride s: dx rows iy with (iy + pad_top) ≡ a (mod s) receive only the taps i ≡ a, at
    // dy row r − di for iy + pad_top = s·r + a, i = a + s·di (likewise columns): one stride-1
    // correlation of dy per phase (a, b) with that phase's sub-kernel, flipped.
    for (int pa = 0; pa < s; pa++) {
        const int r0 = max_i(0, ceil_div(q->pt - pa, s)), r1 = floor_div(q->H - 1 + q->pt - pa, s) + 1;
        const int nda = pa < q->KH ? (q->KH - pa + s - 1) / s : 0;
        for (int pb = 0; pb < s; pb++) {
            const int u0 = max_i(0, ceil_div(q->pl - pb, s)), u1 = floor_div(q->W - 1 + q->pl - pb, s) + 1;
            const int ndb = pb < q->KW ? (q->KW - pb + s - 1) / s : 0;
            const int Hr = r1 - r0, Wr = u1 - u0;
            if (Hr <= 0 || Wr <= 0) continue;
            const ptrdiff_t first = (ptrdiff_t)(s * r0 + pa - q->pt) * q->W + (s * u0 + pb - q->pl);
            if (nda == 0 || ndb == 0) {
                if (!scratch) continue;
                // No tap reaches these positions (kernel smaller than the stride).
                for (int n = 0; n < q->n; n++)
                    for (int c = 0; c < q->C; c++) {
                        float *d = dx + n * xImage + (ptrdiff_t)c * q->H * q->W + first;
                        for (int r = 0; r < Hr; r++)
                            for (int u = 0; u < Wr; u++) d[(ptrdiff_t)r * s * q->W + (ptrdiff_t)u * s] = 0.0f;
                    }
                continue;
            }
            const int Tp = nda * ndb, K = q->O * Tp;
            corr_plan p = corr_make(q->O, q->Ho, q->Wo, nda, ndb, nda - 1 - r0, ndb - 1 - u0, Hr, Wr);
            size_t mark = a.used;
            ptrdiff_t *off = arena_offsets(&a, K);
            float *wpk = arena_floats(&a, (ptrdiff_t)cblocks * ob * K);
            float *planes = arena_floats(&a, q->O * p.cs);
            float *grid = arena_floats(&a, (ptrdiff_t)cblocks * ob * p.qpad);
            if (scratch) {
                // k = (o·nda + di′)·ndb + dj′ reads W[o][c][pa + s·(nda−1−di′)][pb + s·(ndb−1−dj′)].
                PACK_WEIGHTS(wpk, q->C, K, ob,
                             w[(((ptrdiff_t)(k / Tp) * q->C + o) * q->KH + pa + s * (nda - 1 - (k % Tp) / ndb)) * q->KW +
                               pb + s * (ndb - 1 - (k % Tp) % ndb)]);
                corr_offsets(&p, off);
                const int qvec = (int)((p.Q + ops->vl - 1) / ops->vl);
                for (int n = 0; n < q->n; n++) {
                    corr_fill(&p, dy + n * yImage, planes);
                    ops->fwd(planes, off, K, wpk, cblocks, grid, p.qpad, qvec);
                    grid_store(grid, p.qpad, p.Wg, q->C, Hr, Wr, dx + n * xImage + first, (ptrdiff_t)q->H * q->W,
                               (ptrdiff_t)s * q->W, s, NULL);
                }
            }
            a.used = mark;
        }
    }
    return a.peak;
}

void mlk_conv2d_backward_data(int isa, const mlk_conv2d *g, const float *dy, const float *weight, float *dx,
                              float *scratch) {
    geometry q = geometry_of(g);
    backward_data_run(ops_for(isa), &q, dy, weight, dx, scratch);
}

// ---------------------------------------------------------------------------------------------
// Weight gradient

static size_t backward_filter_run(const mlk_ops *ops, const geometry *q, const float *x, const float *dy, float *dw,
                                  float *db, float *scratch) {
    arena a = {scratch, 0, 0};
    const int s = q->s, T = q->KH * q->KW;
    // Padded planes just large enough for every tap of every output pixel.
    const int Hp = s * (q->Ho - 1) + q->KH, Wp = s * (q->Wo - 1) + q->KW;
    const ptrdiff_t csw = round_up((ptrdiff_t)Hp * Wp, 16);
    const ptrdiff_t opad = round_up(q->O, ops->vl), P = (ptrdiff_t)q->Ho * q->Wo;
    // Rows of three taps (3-wide kernels), else one row per tap.
    const int kwc = q->KW == 3 ? 3 : 1;
    const int R = kwc == 3 ? q->C * q->KH : q->C * T;
    ptrdiff_t *roff = arena_offsets(&a, R);
    float *planes = arena_floats(&a, q->C * csw);
    float *dyT = arena_floats(&a, P * opad);
    float *acc = arena_floats(&a, (ptrdiff_t)q->C * T * opad);
    if (!scratch) return a.peak;
    for (int c = 0; c < q->C; c++)
        for (int i = 0; i < q->KH; i++) {
            if (kwc == 3) {
                roff[c * q->KH + i] = c * csw + (ptrdiff_t)i * Wp;
            } else {
                for (int j = 0; j < q->KW; j++) roff[(c * q->KH + i) * q->KW + j] = c * csw + (ptrdiff_t)i * Wp + j;
            }
        }
    memset(acc, 0, sizeof(float) * (size_t)(q->C * T * opad));
    memset(dyT, 0, sizeof(float) * (size_t)(P * opad));
    const ptrdiff_t xImage = (ptrdiff_t)q->C * q->H * q->W, yImage = (ptrdiff_t)q->O * P;
    // Columns of a padded row that hold data: ix = u − pad_left in 0 ..< W.
    const int u0 = q->pl, u1 = q->pl + q->W < Wp ? q->pl + q->W : Wp;
    for (int n = 0; n < q->n; n++) {
        const float *xn = x + n * xImage, *dyn = dy + n * yImage;
        for (int c = 0; c < q->C; c++) {
            float *pc = planes + c * csw;
            for (int r = 0; r < Hp; r++) {
                float *row = pc + (ptrdiff_t)r * Wp;
                int iy = r - q->pt;
                if (iy < 0 || iy >= q->H || u1 <= u0) {
                    memset(row, 0, sizeof(float) * (size_t)Wp);
                    continue;
                }
                memset(row, 0, sizeof(float) * (size_t)u0);
                memcpy(row + u0, xn + ((ptrdiff_t)c * q->H + iy) * q->W, sizeof(float) * (size_t)(u1 - u0));
                memset(row + u1, 0, sizeof(float) * (size_t)(Wp - u1));
            }
        }
        for (int o = 0; o < q->O; o++) {
            const float *d = dyn + o * P;
            for (ptrdiff_t p = 0; p < P; p++) dyT[p * opad + o] = d[p];
        }
        if (db) {
            for (int o = 0; o < q->O; o++) {
                const float *d = dyn + o * P;
                float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                ptrdiff_t p = 0;
                for (; p + 8 <= P; p += 8)
                    for (int l = 0; l < 8; l++) part[l] += d[p + l];
                float sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
                for (; p < P; p++) sum += d[p];
                db[o] += sum;
            }
        }
        ops->wgrad(planes, roff, R, kwc, s, (ptrdiff_t)s * Wp, q->Ho, q->Wo, dyT, opad, acc);
    }
    // acc[(c·KH + i)·KW + j][o] → dW[o][c][i][j].
    const int K = q->C * T;
    for (int o = 0; o < q->O; o++)
        for (int k = 0; k < K; k++) dw[(ptrdiff_t)o * K + k] += acc[(ptrdiff_t)k * opad + o];
    return a.peak;
}

void mlk_conv2d_backward_filter(int isa, const mlk_conv2d *g, const float *x, const float *dy, float *dweight,
                                float *dbias, float *scratch) {
    geometry q = geometry_of(g);
    backward_filter_run(ops_for(isa), &q, x, dy, dweight, dbias, scratch);
}

// ---------------------------------------------------------------------------------------------

size_t mlk_conv2d_scratch_floats(const mlk_conv2d *g) {
    if (!mlk_conv2d_supported(g)) return 0;
    geometry q = geometry_of(g);
    size_t f = forward_run(&ops_sizing, &q, NULL, NULL, NULL, NULL, NULL);
    size_t d = backward_data_run(&ops_sizing, &q, NULL, NULL, NULL, NULL);
    size_t w = backward_filter_run(&ops_sizing, &q, NULL, NULL, NULL, NULL, NULL);
    size_t m = f > d ? f : d;
    return m > w ? m : w;
}
