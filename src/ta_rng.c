#include "ta_rng.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void ta_rng_seed(ta_rng *rng, uint64_t seed) {
  uint64_t x = seed;
  rng->s[0] = splitmix64(&x);
  rng->s[1] = splitmix64(&x);
  if (rng->s[0] == 0 && rng->s[1] == 0) rng->s[1] = 1; /* all-zero state is a fixed point */
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoroshiro128++ */
uint64_t ta_rng_next(ta_rng *rng) {
  uint64_t s0 = rng->s[0], s1 = rng->s[1];
  uint64_t result = rotl(s0 + s1, 17) + s0;
  s1 ^= s0;
  rng->s[0] = rotl(s0, 49) ^ s1 ^ (s1 << 21);
  rng->s[1] = rotl(s1, 28);
  return result;
}

float ta_rng_uniform(ta_rng *rng) {
  return (float)(ta_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

uint32_t ta_rng_below(ta_rng *rng, uint32_t n) {
  if (n <= 1) return 0;
  /* rejection on the top 32 bits: unbiased for every n */
  uint64_t range = 0x100000000ULL;
  uint64_t limit = range - (range % n);
  for (;;) {
    uint64_t r = ta_rng_next(rng) >> 32;
    if (r < limit) return (uint32_t)(r % n);
  }
}
