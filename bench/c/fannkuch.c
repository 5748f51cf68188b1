/* Fannkuch-redux (count-based permutation order): the C counterpart of bench/fannkuch.src. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_N 32

static void fannkuch(int n, int64_t *checksum_out, int64_t *max_flips_out)
{
    int perm1[MAX_N], perm[MAX_N], count[MAX_N];
    for (int i = 0; i < n; i++) {
        perm1[i] = i;
        count[i] = 0;
    }
    int64_t max_flips = 0;
    int64_t checksum = 0;
    int64_t sign = 1;
    int r = n;
    for (;;) {
        while (r != 1) {
            count[r - 1] = r;
            r -= 1;
        }
        memcpy(perm, perm1, (size_t)n * sizeof(int));
        int64_t flips = 0;
        int k = perm[0];
        while (k) {
            /* reverse perm[0..k] */
            for (int lo = 0, hi = k; lo < hi; lo++, hi--) {
                int t = perm[lo];
                perm[lo] = perm[hi];
                perm[hi] = t;
            }
            flips += 1;
            k = perm[0];
        }
        if (flips > max_flips)
            max_flips = flips;
        checksum += sign * flips;
        sign = -sign;
        for (;;) {
            if (r == n) {
                *checksum_out = checksum;
                *max_flips_out = max_flips;
                return;
            }
            int p0 = perm1[0];
            for (int i = 0; i < r; i++)
                perm1[i] = perm1[i + 1];
            perm1[r] = p0;
            count[r] -= 1;
            if (count[r] > 0)
                break;
            r += 1;
        }
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 8;
    if (n < 1 || n > MAX_N - 1) {
        fprintf(stderr, "fannkuch: N must be between 1 and %d\n", MAX_N - 1);
        return 1;
    }
    int64_t cs, mf;
    fannkuch((int)n, &cs, &mf);
    printf("%lld\n", (long long)cs);
    printf("Pfannkuchen(%ld) = %lld\n", n, (long long)mf);
    return 0;
}
