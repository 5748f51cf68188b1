/* Spectral norm: the C counterpart of bench/spectralnorm.src. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline double eval_a(int64_t i, int64_t j)
{
    return 1.0 / (double)((i + j) * (i + j + 1) / 2 + i + 1);
}

static void mul_av(const double *v, double *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < n; j++)
            s += eval_a(i, j) * v[j];
        out[i] = s;
    }
}

static void mul_atv(const double *v, double *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t j = 0; j < n; j++)
            s += eval_a(j, i) * v[j];
        out[i] = s;
    }
}

/* out = A^T A v, using tmp as the intermediate A v. */
static void mul_atav(const double *v, double *out, double *tmp, int64_t n)
{
    mul_av(v, tmp, n);
    mul_atv(tmp, out, n);
}

static double spectral_norm(int64_t n)
{
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(double);
    double *u = malloc(bytes), *v = malloc(bytes), *tmp = malloc(bytes);
    if (!u || !v || !tmp) {
        perror("malloc");
        exit(1);
    }
    for (int64_t i = 0; i < n; i++)
        u[i] = 1.0;
    for (int r = 0; r < 10; r++) {
        mul_atav(u, v, tmp, n);
        mul_atav(v, u, tmp, n);
    }
    double vbv = 0.0, vv = 0.0;
    for (int64_t i = 0; i < n; i++) {
        vbv += u[i] * v[i];
        vv += v[i] * v[i];
    }
    free(u);
    free(v);
    free(tmp);
    /* Python's float ** 0.5 calls the C library's pow(). */
    return pow(vbv / vv, 0.5);
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 80;
    printf("spectralnorm %lld %.9f\n", (long long)n, spectral_norm(n));
    return 0;
}
