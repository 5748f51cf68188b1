/* Tight integer while loop: the C counterpart of bench/loop.src. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int64_t run(int64_t n)
{
    int64_t i = 0;
    int64_t total = 0;
    while (i < n) {
        total = (total + i * 7) % 1000003;
        i += 1;
    }
    return total;
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 700000;
    printf("loop %lld %lld\n", (long long)n, (long long)run(n));
    return 0;
}
