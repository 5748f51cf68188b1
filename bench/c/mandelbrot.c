/* Mandelbrot iteration-count checksum: the C counterpart of bench/mandelbrot.src. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_ITER 50

static void mandelbrot(int64_t size, int max_iter, int64_t *checksum_out, int64_t *inside_out)
{
    int64_t checksum = 0;
    int64_t inside = 0;
    for (int64_t y = 0; y < size; y++) {
        double ci = 2.0 * (double)y / (double)size - 1.0;
        for (int64_t x = 0; x < size; x++) {
            double cr = 2.0 * (double)x / (double)size - 1.5;
            double zr = 0.0, zi = 0.0;
            int n = 0;
            int escaped = 0;
            while (n < max_iter) {
                double tr = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = tr;
                if (zr * zr + zi * zi > 4.0) {
                    escaped = 1;
                    break;
                }
                n += 1;
            }
            if (!escaped)
                inside += 1;
            checksum = (checksum * 31 + n) % 1000000007;
        }
    }
    *checksum_out = checksum;
    *inside_out = inside;
}

int main(int argc, char **argv)
{
    int64_t size = argc > 1 ? strtoll(argv[1], NULL, 10) : 128;
    int64_t c, k;
    mandelbrot(size, MAX_ITER, &c, &k);
    printf("mandelbrot %lld %d %lld %lld\n", (long long)size, MAX_ITER, (long long)c, (long long)k);
    return 0;
}
