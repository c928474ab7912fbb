// The register-blocked inner kernels of the direct convolution, written once and compiled once
// per instruction set: conv2d_portable.c, conv2d_avx2.c and conv2d_avx512.c define the macros
// below and include this file. Not a public header.
//
//   VEC, VECU      a vector of VL floats (VECU: the same, 4-byte aligned, for unaligned access)
//   VL             lanes
//   VSPLAT(s)      every lane s
//   VFMA(a, b, c)  a·b + c (fused where the instruction set has FMA)
//   NAME(x)        x with the instruction set's suffix
//   FWD_OB         output channels per forward tile (broadcast weights)
//   FWD_NV         vectors of output pixels per forward tile
//   WG_OBV         vectors of output channels per weight-gradient tile, at most
//   WG_RB(kw, obv) kernel rows (of kw taps) per weight-gradient tile for obv output vectors
//
// Both kernels keep every accumulator in a register for the whole reduction, and each lane sums
// its terms in one fixed order, so the results do not depend on how the work is tiled.

#include <stddef.h>

#define MLK_INLINE static inline __attribute__((always_inline))
#define MLK_UNROLL _Pragma("clang loop unroll(full)")

// ---------------------------------------------------------------------------------------------
// Forward-style correlation over shifted planes:
//   out[o][q] = Σ_k w[k][o] · in[off[k] + q]   for q in 0 ..< qvec·VL, o in 0 ..< oblocks·FWD_OB
// `wpk` is [oblocks][K][FWD_OB]; `out` rows are `ostride` floats apart. One tile is FWD_OB
// output channels × nv vectors of pixels; per k: nv loads, FWD_OB broadcasts, FWD_OB·nv FMAs.

MLK_INLINE void NAME(fwd_tile)(const float *in, const ptrdiff_t *off, int K, const float *w, float *out,
                               ptrdiff_t ostride, const int nv) {
    VEC acc[FWD_OB][FWD_NV];
    MLK_UNROLL for (int o = 0; o < FWD_OB; o++) {
        MLK_UNROLL for (int v = 0; v < FWD_NV; v++) {
            if (v < nv) acc[o][v] = VSPLAT(0.0f);
        }
    }
    for (int k = 0; k < K; k++) {
        const float *p = in + off[k];
        const float *wk = w + (ptrdiff_t)k * FWD_OB;
        VEC x[FWD_NV];
        MLK_UNROLL for (int v = 0; v < FWD_NV; v++) {
            if (v < nv) x[v] = *(const VECU *)(p + v * VL);
        }
        MLK_UNROLL for (int o = 0; o < FWD_OB; o++) {
            VEC b = VSPLAT(wk[o]);
            MLK_UNROLL for (int v = 0; v < FWD_NV; v++) {
                if (v < nv) acc[o][v] = VFMA(x[v], b, acc[o][v]);
            }
        }
    }
    MLK_UNROLL for (int o = 0; o < FWD_OB; o++) {
        MLK_UNROLL for (int v = 0; v < FWD_NV; v++) {
            if (v < nv) *(VECU *)(out + o * ostride + v * VL) = acc[o][v];
        }
    }
}

void NAME(mlk_fwd)(const float *in, const ptrdiff_t *off, int K, const float *wpk, int oblocks, float *out,
                   ptrdiff_t ostride, int qvec) {
    for (int ob = 0; ob < oblocks; ob++) {
        const float *w = wpk + (ptrdiff_t)ob * K * FWD_OB;
        float *o = out + (ptrdiff_t)ob * FWD_OB * ostride;
        int v = 0;
        for (; v + FWD_NV <= qvec; v += FWD_NV) NAME(fwd_tile)(in + v * VL, off, K, w, o + v * VL, ostride, FWD_NV);
        switch (qvec - v) {
        case 1: NAME(fwd_tile)(in + v * VL, off, K, w, o + v * VL, ostride, 1); break;
#if FWD_NV > 2
        case 2: NAME(fwd_tile)(in + v * VL, off, K, w, o + v * VL, ostride, 2); break;
#endif
#if FWD_NV > 3
        case 3: NAME(fwd_tile)(in + v * VL, off, K, w, o + v * VL, ostride, 3); break;
#endif
        default: break;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Weight gradient as a reduction over output pixels with the lanes over output channels (so no
// horizontal sums):
//   acc[(r·kw + j)][o] += Σ_{oy < ho, ox < wo} dyT[oy·wo + ox][o] · in[roff[r] + oy·rowstep + ox·s + j]
// `dyT` is the output gradient pixel-major (`opad` floats per pixel, zero past the channels);
// `acc` has `opad` floats per (row, tap). A tile is RB rows × kw taps × obv vectors of output
// channels; per pixel: obv loads, RB·kw broadcasts, RB·kw·obv FMAs.

MLK_INLINE void NAME(wg_tile)(const float *in, const ptrdiff_t *roff, int nr, const int KW, const int RB, const int OBV,
                              int s, ptrdiff_t rowstep, int ho, int wo, const float *dyT, ptrdiff_t opad, float *acc) {
    VEC a[8][3][4];
    const float *p[8];
    MLK_UNROLL for (int r = 0; r < RB; r++) {
        p[r] = in + roff[r < nr ? r : 0];
        MLK_UNROLL for (int j = 0; j < KW; j++) {
            MLK_UNROLL for (int v = 0; v < OBV; v++) {
                a[r][j][v] = r < nr ? *(const VECU *)(acc + (r * KW + j) * opad + v * VL) : VSPLAT(0.0f);
            }
        }
    }
    const float *d = dyT;
    for (int oy = 0; oy < ho; oy++) {
        ptrdiff_t base = oy * rowstep;
        for (int ox = 0; ox < wo; ox++, base += s, d += opad) {
            VEC dv[4];
            MLK_UNROLL for (int v = 0; v < OBV; v++) dv[v] = *(const VECU *)(d + v * VL);
            MLK_UNROLL for (int r = 0; r < RB; r++) {
                MLK_UNROLL for (int j = 0; j < KW; j++) {
                    VEC b = VSPLAT(p[r][base + j]);
                    MLK_UNROLL for (int v = 0; v < OBV; v++) a[r][j][v] = VFMA(dv[v], b, a[r][j][v]);
                }
            }
        }
    }
    MLK_UNROLL for (int r = 0; r < RB; r++) {
        if (r < nr) {
            MLK_UNROLL for (int j = 0; j < KW; j++) {
                MLK_UNROLL for (int v = 0; v < OBV; v++) *(VECU *)(acc + (r * KW + j) * opad + v * VL) = a[r][j][v];
            }
        }
    }
}

#define MLK_WG_ROWS(KWC, OBVC)                                                                               \
    do {                                                                                                     \
        enum { rb_ = WG_RB(KWC, OBVC) };                                                                     \
        for (int r = 0; r < R; r += rb_)                                                                     \
            NAME(wg_tile)(in, roff + r, R - r < rb_ ? R - r : rb_, KWC, rb_, OBVC, s, rowstep, ho, wo,       \
                          dyT + ob, opad, acc + (ptrdiff_t)r * (KWC) * opad + ob);                          \
    } while (0)

void NAME(mlk_wgrad)(const float *in, const ptrdiff_t *roff, int R, int kw, int s, ptrdiff_t rowstep, int ho, int wo,
                     const float *dyT, ptrdiff_t opad, float *acc) {
    for (ptrdiff_t ob = 0; ob < opad; ob += WG_OBV * VL) {
        int obv = (int)((opad - ob) / VL);
        if (obv > WG_OBV) obv = WG_OBV;
        if (kw == 3) {
            switch (obv) {
            case 1: MLK_WG_ROWS(3, 1); break;
#if WG_OBV > 1
            case 2: MLK_WG_ROWS(3, 2); break;
#endif
#if WG_OBV > 2
            case 3: MLK_WG_ROWS(3, 3); break;
#endif
#if WG_OBV > 3
            case 4: MLK_WG_ROWS(3, 4); break;
#endif
            default: break;
            }
        } else {
            switch (obv) {
            case 1: MLK_WG_ROWS(1, 1); break;
#if WG_OBV > 1
            case 2: MLK_WG_ROWS(1, 2); break;
#endif
#if WG_OBV > 2
            case 3: MLK_WG_ROWS(1, 3); break;
#endif
#if WG_OBV > 3
            case 4: MLK_WG_ROWS(1, 4); break;
#endif
            default: break;
            }
        }
    }
}

#undef MLK_WG_ROWS
#undef MLK_INLINE
#undef MLK_UNROLL
