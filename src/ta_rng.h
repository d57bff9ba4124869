/* The one random generator of the core (xoshiro128+ style state, seeded by splitmix64
 * from an integer that R draws from its own RNG, so set.seed() governs every run). */
#ifndef TA_RNG_H
#define TA_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t s[2];
} ta_rng;

void ta_rng_seed(ta_rng *rng, uint64_t seed);
uint64_t ta_rng_next(ta_rng *rng);
/* uniform in [0, 1) with 24 random bits, exact in float */
float ta_rng_uniform(ta_rng *rng);
/* uniform integer in [0, n) without modulo bias */
uint32_t ta_rng_below(ta_rng *rng, uint32_t n);

#endif
