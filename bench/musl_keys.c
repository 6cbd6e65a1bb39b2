/* The benchmark's C peer: musl 1.2.x's destination sort key (src/network/lookup_name.c),
 * written as a plain loop the way a C programmer would, over the same arrays as
 * v6core._core.bulk.musl_keys: dst and src are n rows of 16 network-order bytes (IPv4
 * as IPv4-mapped), flags bit 0 = usable (connect() succeeded), pos = position 0..47.
 * Built by bench/bench_bulk.py with `cc -O2 -shared -fPIC`. */
#include <stddef.h>
#include <stdint.h>

struct policy {
    unsigned char addr[16];
    unsigned char len, mask;
    unsigned char prec, label;
};

/* musl's table: RFC 6724 section 2.1 without ::/96, fec0::/10 and 3ffe::/16 */
static const struct policy table[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 15, 0xff, 50, 0},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 11, 0xff, 35, 4},
    {{0x20, 0x02}, 1, 0xff, 30, 2},
    {{0x20, 0x01}, 3, 0xff, 5, 5},
    {{0xfc}, 0, 0xfe, 3, 13},
    {{0}, 0, 0, 40, 1},
};

static int same_bytes(const unsigned char *a, const unsigned char *b, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static const struct policy *policy_of(const unsigned char *a)
{
    int i;
    for (i = 0;; i++) {
        if (!same_bytes(a, table[i].addr, table[i].len))
            continue;
        if ((a[table[i].len] & table[i].mask) != table[i].addr[table[i].len])
            continue;
        return &table[i];
    }
}

static int scope_of(const unsigned char *a)
{
    static const unsigned char loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (a[0] == 0xff)
        return a[1] & 15;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return 2;
    if (same_bytes(a, loop, 16))
        return 2;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return 5;
    return 14;
}

static int prefix_match(const unsigned char *s, const unsigned char *d)
{
    int i;
    for (i = 0; i < 16; i++)
        if (s[i] != d[i])
            return 8 * i + __builtin_clz((unsigned)(s[i] ^ d[i])) - 24;
    return 128;
}

void musl_keys(const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
               const uint8_t *pos, uint32_t *out, size_t n)
{
    size_t r;
    for (r = 0; r < n; r++) {
        const unsigned char *d = dst + 16 * r, *s = src + 16 * r;
        const struct policy *dp = policy_of(d);
        int dscope = scope_of(d);
        uint32_t key = 0;
        if (flags[r] & 1) {
            key |= 0x40000000;
            if (dscope == scope_of(s))
                key |= 0x20000000;
            if (dp->label == policy_of(s)->label)
                key |= 0x10000000;
            key |= (uint32_t)prefix_match(s, d) << 8;
        }
        key |= (uint32_t)dp->prec << 20;
        key |= (uint32_t)(15 - dscope) << 16;
        key |= (uint32_t)(48 - pos[r]);
        out[r] = key;
    }
}
