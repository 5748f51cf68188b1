/* Sieve of Eratosthenes, repeated REPEAT times: the C counterpart of bench/sieve.src. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPEAT 5

/* Sieve up to limit; returns a freshly allocated array of the primes and their count. */
static int64_t *sieve(int64_t limit, int64_t *count_out)
{
    bool *flags = malloc((size_t)(limit + 1) * sizeof(bool));
    if (!flags) {
        perror("malloc");
        exit(1);
    }
    memset(flags, true, (size_t)(limit + 1) * sizeof(bool));
    flags[0] = flags[1] = false;
    for (int64_t i = 2; i * i <= limit; i++) {
        if (flags[i]) {
            for (int64_t j = i * i; j <= limit; j += i)
                flags[j] = false;
        }
    }
    /* Collect the primes into a growable array, as the list comprehension does. */
    int64_t count = 0, cap = 1024;
    int64_t *primes = malloc((size_t)cap * sizeof(int64_t));
    if (!primes) {
        perror("malloc");
        exit(1);
    }
    for (int64_t k = 0; k <= limit; k++) {
        if (flags[k]) {
            if (count == cap) {
                cap *= 2;
                primes = realloc(primes, (size_t)cap * sizeof(int64_t));
                if (!primes) {
                    perror("realloc");
                    exit(1);
                }
            }
            primes[count++] = k;
        }
    }
    free(flags);
    *count_out = count;
    return primes;
}

int main(int argc, char **argv)
{
    int64_t limit = argc > 1 ? strtoll(argv[1], NULL, 10) : 100000;
    if (limit < 2) {
        fprintf(stderr, "sieve: LIMIT must be at least 2\n");
        return 1;
    }
    int64_t *primes = NULL;
    int64_t count = 0;
    for (int r = 0; r < REPEAT; r++) {
        free(primes);
        primes = sieve(limit, &count);
    }
    int64_t sum = 0; /* sum of primes <= limit < limit^2 / 2: fits for any sane limit */
    for (int64_t k = 0; k < count; k++)
        sum += primes[k];
    printf("sieve %lld %lld %lld %lld\n", (long long)limit, (long long)count,
           (long long)primes[count - 1], (long long)(sum % 1000000007));
    free(primes);
    return 0;
}
