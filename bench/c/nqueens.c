/* N-queens by backtracking: the C counterpart of bench/nqueens.src.
   The Python sets of occupied columns and diagonals become flag arrays;
   every solution is stored, as the Python version appends a tuple per solution. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_N 32

struct solver {
    int n;
    bool cols[MAX_N];
    bool diag1[2 * MAX_N];    /* row + c */
    bool diag2[2 * MAX_N];    /* row - c + (n - 1) */
    int placed[MAX_N];
    int *solutions;           /* count * n ints */
    int64_t count, cap;
};

static void place(struct solver *s, int row)
{
    int n = s->n;
    if (row == n) {
        if (s->count == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->solutions = realloc(s->solutions, (size_t)s->cap * (size_t)n * sizeof(int));
            if (!s->solutions) {
                perror("realloc");
                exit(1);
            }
        }
        memcpy(s->solutions + s->count * n, s->placed, (size_t)n * sizeof(int));
        s->count += 1;
        return;
    }
    for (int c = 0; c < n; c++) {
        int d1 = row + c, d2 = row - c + n - 1;
        if (s->cols[c] || s->diag1[d1] || s->diag2[d2])
            continue;
        s->cols[c] = true;
        s->diag1[d1] = true;
        s->diag2[d2] = true;
        s->placed[row] = c;
        place(s, row + 1);
        s->cols[c] = false;
        s->diag1[d1] = false;
        s->diag2[d2] = false;
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10;
    if (n > MAX_N) {
        fprintf(stderr, "nqueens: N must be at most %d\n", MAX_N);
        return 1;
    }
    int64_t total = 0;
    for (int size = 4; size <= n; size++) {
        struct solver s;
        memset(&s, 0, sizeof s);
        s.n = size;
        place(&s, 0);
        total += s.count;
        printf("queens %d %lld (", size, (long long)s.count);
        for (int i = 0; i < size; i++)
            printf(i ? ", %d" : "%d", s.solutions[i]);
        printf(")\n");
        free(s.solutions);
    }
    printf("total %lld\n", (long long)total);
    return 0;
}
