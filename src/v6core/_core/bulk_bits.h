/* Bit helpers of the branch-free musl key kernel (bulk_musl.h, which the extension and
 * bench/musl_kernel_loop.c include): an address half in host order, and the common
 * prefix length of two addresses. */
#ifndef V6CORE_BULK_BITS_H
#define V6CORE_BULK_BITS_H

#include <stdint.h>

static inline __attribute__((always_inline)) uint64_t v6b_be64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* leading equal bits of two addresses given their xor halves x, y (0..128) */
static inline __attribute__((always_inline)) unsigned v6b_common_len(uint64_t x, uint64_t y)
{
    unsigned a = (unsigned)__builtin_clzll(x | 1);
    unsigned b = 64u + (unsigned)__builtin_clzll(y | 1) + (y == 0);
    unsigned m = -(unsigned)(x != 0);
    return (a & m) | (b & ~m);
}

#endif
