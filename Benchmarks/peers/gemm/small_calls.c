/*
 * Peer of `mlbench gemm`'s small-call workloads: the same cblas calls MLCore's BLAS.gemm /
 * BLAS.gemv wrappers make, called directly from C, so the ratio of calls per second measures
 * the wrappers' overhead.
 *
 * Same sizes, data, loop and settings as Sources/MLBenchKit/GEMMSuite+SmallCalls.swift:
 *   - data: element i of stream s is ((splitmix64((s << 32) ^ i) >> 32) % 17 - 8) / 8
 *     (BenchmarkData.swift); sgemm A, B use seed+10, seed+11; sgemv A, x use seed+20, seed+21;
 *   - buffers 64-byte aligned; alpha 1, beta 0, row-major, no transposes, unit increments;
 *   - one run = `calls` back-to-back calls, timed with clock_gettime(CLOCK_MONOTONIC);
 *     `warmup` untimed runs, then `repeat` timed runs; median, min, max;
 *   - OpenBLAS threads: openblas_set_num_threads(threads).
 * Metrics: calls_per_s (calls / median run), calls_per_s_best (calls / fastest run), gflops,
 * calls_per_run, checksum. The checksum (sum of the output in index order, in double) is printed so mlbench can check
 * that both sides computed the same thing, and so the compiler cannot drop the calls.
 *
 * Built by mlbench: cc -O2 -std=c11 small_calls.c $(pkg-config --cflags --libs openblas) -lm
 * Usage: small_calls --threads T --repeat R --warmup W --seed S --gemm-size N --gemm-calls C
 *                    --gemv-rows M --gemv-cols K --gemv-calls C
 * Prints one JSON line per workload (docs/mlbench.md "JSON lines").
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Declared by OpenBLAS's cblas.h; repeated in case a reference cblas.h is picked up. */
extern void openblas_set_num_threads(int);
extern char *openblas_get_config(void);

static uint64_t splitmix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fill(float *p, long count, uint64_t seed) {
    for (long i = 0; i < count; i++) {
        uint64_t h = splitmix64((seed << 32) ^ (uint64_t)i);
        p[i] = (float)((int)((h >> 32) % 17) - 8) / 8.0f;
    }
}

static double checksum(const float *p, long count) {
    double s = 0;
    for (long i = 0; i < count; i++) s += (double)p[i];
    return s;
}

static float *alloc_floats(long count) {
    void *p = NULL;
    if (count <= 0 || posix_memalign(&p, 64, (size_t)count * sizeof(float)) != 0) {
        fprintf(stderr, "small_calls: out of memory (%ld floats)\n", count);
        exit(1);
    }
    memset(p, 0, (size_t)count * sizeof(float));
    return p;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Peak RSS of this process image in MiB: VmHWM from /proc/self/status. Not getrusage's
 * ru_maxrss: Linux carries the parent's peak across fork and exec, so a peer started by a large
 * mlbench process would report mlbench's peak. Falls back to ru_maxrss where there is no /proc. */
static double peak_rss_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kb = -1;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
        fclose(f);
        if (kb >= 0) return (double)kb / 1024.0;
    }
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
    return (double)usage.ru_maxrss / 1024.0; /* KiB on Linux */
}

/* Prints s as a JSON string. */
static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void print_result(const char *workload, int threads, double *samples, int runs, long calls,
                         double flops_per_call, double sum) {
    qsort(samples, (size_t)runs, sizeof(double), compare_doubles);
    double median = runs % 2 ? samples[runs / 2] : (samples[runs / 2 - 1] + samples[runs / 2]) / 2;
    double rate = (double)calls / median;
    char version[256];
    snprintf(version, sizeof version, "%s", openblas_get_config());
    /* openblas_get_config() ends with a space on some builds. */
    for (size_t n = strlen(version); n > 0 && version[n - 1] == ' '; n--) version[n - 1] = 0;
    printf("{\"suite\":\"gemm\",\"workload\":\"%s\",\"impl\":\"openblas-c\",\"version\":", workload);
    print_json_string(version);
    printf(",\"threads\":%d,\"median_s\":%.17g,\"min_s\":%.17g,\"max_s\":%.17g,\"runs\":%d,"
           "\"peak_rss_mb\":%.17g,\"metrics\":{\"calls_per_run\":%ld,\"calls_per_s\":%.17g,"
           "\"calls_per_s_best\":%.17g,\"checksum\":%.17g,\"gflops\":%.17g}}\n",
           threads, median, samples[0], samples[runs - 1], runs, peak_rss_mb(), calls, rate,
           (double)calls / samples[0], sum, rate * flops_per_call / 1e9);
    fflush(stdout);
}

static long arg_long(int argc, char **argv, const char *name, long fallback, long min, long max) {
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            char *end = NULL;
            long v = strtol(argv[i + 1], &end, 10);
            if (end == argv[i + 1] || *end != 0 || v < min || v > max) {
                fprintf(stderr, "small_calls: %s %s is invalid (must be an integer in %ld...%ld)\n", name,
                        argv[i + 1], min, max);
                exit(2);
            }
            return v;
        }
    }
    return fallback;
}

int main(int argc, char **argv) {
    int threads = (int)arg_long(argc, argv, "--threads", 1, 1, 1024);
    int repeat = (int)arg_long(argc, argv, "--repeat", 5, 1, 1000);
    int warmup = (int)arg_long(argc, argv, "--warmup", 1, 0, 100);
    uint64_t seed = (uint64_t)arg_long(argc, argv, "--seed", 1, 0, 1L << 30);
    int s = (int)arg_long(argc, argv, "--gemm-size", 64, 1, 4096);
    long gemm_calls = arg_long(argc, argv, "--gemm-calls", 1000, 1, 1L << 30);
    int m = (int)arg_long(argc, argv, "--gemv-rows", 1000, 1, 1 << 20);
    int n = (int)arg_long(argc, argv, "--gemv-cols", 100, 1, 1 << 20);
    long gemv_calls = arg_long(argc, argv, "--gemv-calls", 1000, 1, 1L << 30);

    openblas_set_num_threads(threads);
    double *samples = malloc(sizeof(double) * (size_t)repeat);
    if (!samples) return 1;
    char workload[64];

    /* sgemm s×s×s */
    float *a = alloc_floats((long)s * s), *b = alloc_floats((long)s * s), *c = alloc_floats((long)s * s);
    fill(a, (long)s * s, seed + 10);
    fill(b, (long)s * s, seed + 11);
    for (int r = -warmup; r < repeat; r++) {
        double t0 = now();
        for (long i = 0; i < gemm_calls; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s, s, s, 1.0f, a, s, b, s, 0.0f, c, s);
        double t = now() - t0;
        if (r >= 0) samples[r] = t;
    }
    snprintf(workload, sizeof workload, "sgemm_%dx%dx%d", s, s, s);
    print_result(workload, threads, samples, repeat, gemm_calls, 2.0 * s * s * s, checksum(c, (long)s * s));
    free(a); free(b); free(c);

    /* sgemv m×n */
    float *ga = alloc_floats((long)m * n), *x = alloc_floats(n), *y = alloc_floats(m);
    fill(ga, (long)m * n, seed + 20);
    fill(x, n, seed + 21);
    for (int r = -warmup; r < repeat; r++) {
        double t0 = now();
        for (long i = 0; i < gemv_calls; i++)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, m, n, 1.0f, ga, n, x, 1, 0.0f, y, 1);
        double t = now() - t0;
        if (r >= 0) samples[r] = t;
    }
    snprintf(workload, sizeof workload, "sgemv_%dx%d", m, n);
    print_result(workload, threads, samples, repeat, gemv_calls, 2.0 * m * n, checksum(y, m));
    free(ga); free(x); free(y); free(samples);
    return 0;
}
