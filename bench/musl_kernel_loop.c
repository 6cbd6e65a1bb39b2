/* The benchmark's second C peer: v6core's own musl key kernel (the branch-free C that
 * v6core._core.bulk compiles through Cython) in a plain C loop, so that one run answers
 * "what does the Cython wrapping cost against the same kernel in C?".
 *
 * The kernel is not copied here: bench/bench_bulk.py extracts it from the Cython source
 * at session start into musl_kernel.h (one rule, one place), and builds this file with
 * the flags setup.py gives the extension (-O2 -fno-strict-aliasing -fwrapv, no -march).
 * The loop is the same as bulk.pyx's _musl_keys_rows over rows with flags. */
#include <stddef.h>
#include <stdint.h>

#include "musl_kernel.h"

void musl_kernel_init(void)
{
    v6b_init();
}

void musl_kernel_keys(const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
                      const uint8_t *pos, uint32_t *out, size_t n)
{
    size_t r;
    for (r = 0; r < n; r++)
        out[r] = v6b_musl_key(dst + 16 * r, src + 16 * r, flags[r], pos[r]);
}
