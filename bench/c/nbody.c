/* N-body simulation of the Jovian planets: the C counterpart of bench/nbody.src. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PI 3.14159265358979323
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24
#define NBODIES 5

/* Python's `x ** 0.5` calls the C library's pow(x, 0.5), which differs from
   sqrt(x) in the last bit for about 1 input in 1200 here; pow keeps every
   double bit-identical to CPython's, so the printed energies match at any size. */

struct body {
    double x, y, z, vx, vy, vz, mass;
};

static struct body bodies[NBODIES] = {
    /* sun */
    {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, SOLAR_MASS},
    /* jupiter */
    {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
     1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
     -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS},
    /* saturn */
    {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
     -2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
     2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS},
    /* uranus */
    {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
     2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
     -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS},
    /* neptune */
    {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
     2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
     -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS},
};

static void offset_momentum(struct body *bs, int n)
{
    double px = 0.0, py = 0.0, pz = 0.0;
    for (int i = 0; i < n; i++) {
        px += bs[i].vx * bs[i].mass;
        py += bs[i].vy * bs[i].mass;
        pz += bs[i].vz * bs[i].mass;
    }
    bs[0].vx = -px / SOLAR_MASS;
    bs[0].vy = -py / SOLAR_MASS;
    bs[0].vz = -pz / SOLAR_MASS;
}

static double energy(const struct body *bs, int n)
{
    double e = 0.0;
    for (int i = 0; i < n; i++) {
        const struct body *b = &bs[i];
        e += 0.5 * b->mass * (b->vx * b->vx + b->vy * b->vy + b->vz * b->vz);
        for (int j = i + 1; j < n; j++) {
            const struct body *c = &bs[j];
            double dx = b->x - c->x;
            double dy = b->y - c->y;
            double dz = b->z - c->z;
            e -= b->mass * c->mass / pow(dx * dx + dy * dy + dz * dz, 0.5);
        }
    }
    return e;
}

static void advance(struct body *bs, int n, double dt, int64_t steps)
{
    for (int64_t s = 0; s < steps; s++) {
        for (int i = 0; i < n; i++) {
            struct body *b = &bs[i];
            for (int j = i + 1; j < n; j++) {
                struct body *c = &bs[j];
                double dx = b->x - c->x;
                double dy = b->y - c->y;
                double dz = b->z - c->z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = dt / (d2 * pow(d2, 0.5));
                double bm = b->mass * mag;
                double cm = c->mass * mag;
                b->vx -= dx * cm;
                b->vy -= dy * cm;
                b->vz -= dz * cm;
                c->vx += dx * bm;
                c->vy += dy * bm;
                c->vz += dz * bm;
            }
        }
        for (int i = 0; i < n; i++) {
            struct body *b = &bs[i];
            b->x += dt * b->vx;
            b->y += dt * b->vy;
            b->z += dt * b->vz;
        }
    }
}

int main(int argc, char **argv)
{
    int64_t steps = argc > 1 ? strtoll(argv[1], NULL, 10) : 10000;
    offset_momentum(bodies, NBODIES);
    printf("nbody start %.9f\n", energy(bodies, NBODIES));
    advance(bodies, NBODIES, 0.01, steps);
    printf("nbody end %.9f\n", energy(bodies, NBODIES));
    return 0;
}
