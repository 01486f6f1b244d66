/*
** rng.c: the seeded generator. xoshiro256** (Blackman and Vigna), seeded
** through splitmix64. Normals by Marsaglia's polar method with a logarithm
** computed here from IEEE-exact operations only (frexp, + - * /, sqrt), so
** a seed gives the same numbers on every platform and libm.
*/
#include "ag_internal.h"

#include <math.h>
#include <stdlib.h>

struct ag_rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

ag_rng *ag_rng_new(uint64_t seed)
{
    ag_rng *r = malloc(sizeof *r);
    if (!r) return NULL;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
    return r;
}

void ag_rng_free(ag_rng *r) { free(r); }

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ag_rng_u64(ag_rng *r)
{
    agi_plan_note_draw("ag_rng_u64");
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t tmp = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= tmp;
    s[3] = rotl(s[3], 45);
    return result;
}

double ag_rng_uniform(ag_rng *r)
{
    return (double)(ag_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* ln(x) for finite x > 0 from exact operations: x = m 2^e with m in
   [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172. */
static double exact_log(double x)
{
    int e;
    double m = frexp(x, &e);
    if (m < 0.70710678118654752440) {
        m *= 2;
        e--;
    }
    double s = (m - 1) / (m + 1), s2 = s * s, term = s, sum = 0;
    for (int k = 1; k <= 33; k += 2) {  /* s^35 < 1e-26: past double precision */
        sum += term / k;
        term *= s2;
    }
    return 2 * sum + e * 0.69314718055994530942;
}

double ag_rng_normal(ag_rng *r)
{
    double u, v, s;
    do {
        u = 2 * ag_rng_uniform(r) - 1;
        v = 2 * ag_rng_uniform(r) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    return u * sqrt(-2 * exact_log(s) / s);
}

void ag_rng_get_state(const ag_rng *r, uint64_t state[4])
{
    agi_plan_note_draw("ag_rng_get_state");
    for (int i = 0; i < 4; i++) state[i] = r->s[i];
}

ag_status ag_rng_set_state(ag_rng *r, const uint64_t state[4])
{
    const char *fn = "ag_rng_set_state";
    if (!r || !state)
        return ag_set_last_error(AG_ERR_ARG, "%s: %s is NULL", fn, r ? "state" : "generator");
    if (!(state[0] | state[1] | state[2] | state[3]))
        return ag_set_last_error(AG_ERR_ARG, "%s: the state is all zero (xoshiro256** would "
                                 "return 0 forever)", fn);
    for (int i = 0; i < 4; i++) r->s[i] = state[i];
    return AG_OK;
}
