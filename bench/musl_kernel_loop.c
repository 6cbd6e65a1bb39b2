/* The benchmark's second C peer: v6core's own musl key kernel (the branch-free C that
 * v6core._core.bulk_keys compiles through Cython) in a plain C loop, so that one run
 * answers "what does the Cython wrapping cost against the same kernel in C?".
 *
 * The kernel is not copied here: this file includes src/v6core/_core/bulk_musl.h, the
 * one definition the extension includes too, and takes the tables the extension
 * generated at import (bulk_keys.musl_tables()).  bench/bench_bulk.py builds it with
 * the flags setup.py gives the extension (-O2 -fno-strict-aliasing -fwrapv, no -march).
 * The loop is the same as bulk_keys.pyx's _musl_keys_rows over rows with flags. */
#include <stddef.h>
#include <stdint.h>

#include "bulk_musl.h"

void musl_kernel_init(const uint16_t *t16, const unsigned *fix)
{
    v6b_init(t16, fix);
}

void musl_kernel_keys(const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
                      const uint8_t *pos, uint32_t *out, size_t n)
{
    size_t r;
    for (r = 0; r < n; r++)
        out[r] = v6b_musl_key(dst + 16 * r, src + 16 * r, flags[r], pos[r]);
}
