/* musl's sort key for one destination, branch-free: the one C definition of the bulk
 * musl kernel.  bulk_keys.pyx compiles it into the extension (cdef extern from
 * "bulk_musl.h"), and bench/musl_kernel_loop.c includes this same file to answer
 * "Cython against C, the same kernel".
 *
 * Rows arrive in random order, and a mispredicted branch costs more than computing both
 * sides.  v6b_t16[first 16 bits] = prec << 8 | label << 4 | scope for an address outside
 * the three longer prefixes musl's table has (::1/128, ::ffff:0:0/96, 2001::/32); for an
 * address inside one, the v6b_fix deltas (unsigned, wrapping) give the row's own values.
 * The tables are not written here: bulk_keys.pyx generates them at import from
 * tables.MUSL_ROWS (the one definition of musl's policy) and checks the encoding is exact
 * for it; v6b_init() copies them into another translation unit (the bench's C loop gets
 * them from bulk_keys.musl_tables()). */
#ifndef V6CORE_BULK_MUSL_H
#define V6CORE_BULK_MUSL_H

#include <stdint.h>
#include <string.h>

#include "bulk_bits.h"

static uint16_t v6b_t16[65536];
/* [fix-up: 0 ::1, 1 ::ffff:0:0/96, 2 Teredo][0 prec, 1 label, 2 scope] */
static unsigned v6b_fix[3][3];

/* Copy generated tables in (t16: 65536 entries, fix: 9 entries, row-major). */
static inline void v6b_init(const uint16_t *t16, const unsigned *fix)
{
    memcpy(v6b_t16, t16, sizeof v6b_t16);
    memcpy(v6b_fix, fix, sizeof v6b_fix);
}

static inline __attribute__((always_inline)) void v6b_attrs(
        uint64_t h, uint64_t l, unsigned *prec, unsigned *label, unsigned *scope)
{
    unsigned e = v6b_t16[h >> 48];
    unsigned z = h == 0;
    unsigned lo1 = -(z & (l == 1)), map = -(z & ((l >> 32) == 0xffffu));
    unsigned ter = -(unsigned)((h >> 32) == 0x20010000u);
    *prec = (e >> 8) + (lo1 & v6b_fix[0][0]) + (map & v6b_fix[1][0]) + (ter & v6b_fix[2][0]);
    *label = ((e >> 4) & 15) + (lo1 & v6b_fix[0][1]) + (map & v6b_fix[1][1])
             + (ter & v6b_fix[2][1]);
    *scope = (e & 15) + (lo1 & v6b_fix[0][2]) + (map & v6b_fix[1][2]) + (ter & v6b_fix[2][2]);
}

/* musl's 31-bit key (layout in bulk_keys.pyx's docstring); pos 0..47 */
static inline __attribute__((always_inline)) uint32_t v6b_musl_key(
        const uint8_t *d, const uint8_t *s, unsigned flags, unsigned pos)
{
    uint64_t dh = v6b_be64(d), dl = v6b_be64(d + 8);
    uint64_t sh = v6b_be64(s), sl = v6b_be64(s + 8);
    unsigned dprec, dlabel, dscope, sprec, slabel, sscope;
    v6b_attrs(dh, dl, &dprec, &dlabel, &dscope);
    v6b_attrs(sh, sl, &sprec, &slabel, &sscope);
    (void)sprec;
    uint32_t usable = (uint32_t)(flags & 1u) << 30;   /* SK_F_USABLE */
    uint32_t src_bits = (uint32_t)(dscope == sscope) << 29
                      | (uint32_t)(dlabel == slabel) << 28
                      | (uint32_t)v6b_common_len(dh ^ sh, dl ^ sl) << 8;
    src_bits &= -(uint32_t)(usable != 0);
    return usable | src_bits | (uint32_t)dprec << 20
         | (uint32_t)(15 - dscope) << 16 | (uint32_t)(48 - pos);
}

#endif
