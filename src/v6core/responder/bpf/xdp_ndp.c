// SPDX-License-Identifier: MIT
/*
 * v6core's XDP fast path for the NDP responder: answer the common Neighbor Solicitation
 * in the driver by rewriting it in place into the Neighbor Advertisement the Cython
 * engine (responder/_engine.pyx, resp_decide) would build, and XDP_TX it.  Everything
 * else is XDP_PASS, unchanged, to the AF_PACKET path (which decides with the engine).
 *
 * A frame is answered here only when all of these hold (else it is passed):
 *   Ethernet II, at most one 802.1Q tag, EtherType 0x86dd;
 *   IPv6 version 6, source not multicast, Next Header 58 directly (an extension header
 *   goes to the engine, which walks them), Payload Length inside the frame;
 *   ICMPv6 type 135 (NS), code 0, hop limit 255 (RFC 4861 section 7.1.1), length >= 24
 *   and <= XDP_MAX_ICMP, the checksum right (RFC 4443 section 2.3), options well formed
 *   (length > 0, inside the message, a source link-layer option exactly 8 bytes; at most
 *   XDP_MAX_OPTS of them), target not multicast;
 *   the source is not :: (DAD probes always go to the engine);
 *   the target's longest prefix in v6_prefix names a rule (value = rule * 2, +1 when the
 *   prefix is one of the rule's excludes: then it is passed) whose mode needs no state
 *   (auto rules are passed), the target is not in v6_own (the host's addresses), a
 *   unicast-destined NS only where the rule answers unicast, and a link-local source
 *   only where the interface has one.
 * The NA (RFC 4861 sections 4.4, 7.2.4, 7.2.8): Ethernet destination = the NS's source
 * link-layer option, else its Ethernet source; Ethernet source = the interface MAC; the
 * VLAN tag kept; IPv6 traffic class and flow label 0, hop limit 255, source = the target,
 * the interface's link-local or the rule's fixed address, destination = the NS's source;
 * flags = the rule's R and O, S when the rule sets it; target; one target link-layer
 * option (the rule's MAC, else the interface's).  The program holds no policy of its
 * own: the maps are filled by v6core.responder.xdp from the engine's compiled rules.
 *
 * Counters: v6_count, a per-CPU array indexed by the XDP_C_* codes below (mirrored by
 * v6core.responder.xdp.XdpReason; values are stable, only appended).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define XDP_MAX_ICMP 256     /* longest NS checked here (bytes); longer ones are passed */
#define XDP_MAX_OPTS 8       /* options walked; more are passed */
#define XDP_MAX_RULES 4096
#define XDP_NA_ICMP_LEN 32   /* NA (24) + target link-layer option (8) */

enum {
	XDP_C_ANSWERED = 0,      /* NA sent with XDP_TX */
	XDP_C_OTHER = 1,         /* not an IPv6 ICMPv6 NS without extension headers */
	XDP_C_EXT_HDR = 2,       /* IPv6 extension header(s): the engine walks them */
	XDP_C_INVALID = 3,       /* fails RFC 4861 7.1.1 validation (the engine counts why) */
	XDP_C_DAD = 4,           /* source :: (DAD probe): the engine decides */
	XDP_C_NO_RULE = 5,       /* target outside every prefix */
	XDP_C_EXCLUDED = 6,      /* target in a rule's exclude */
	XDP_C_OWN = 7,           /* target is one of the host's addresses */
	XDP_C_UNICAST = 8,       /* unicast NS and the rule is multicast-only */
	XDP_C_STATEFUL = 9,      /* the rule needs state the program lacks (auto) */
	XDP_C_NO_LINKLOCAL = 10, /* the rule answers from link-local; the interface has none */
	XDP_C_DISABLED = 11,     /* the maps are being rewritten, or rate limits are on */
	XDP_C_TOO_LONG = 12,     /* ICMP longer than XDP_MAX_ICMP or more than XDP_MAX_OPTS */
	XDP_C_ADJUST = 13,       /* bpf_xdp_adjust_tail refused (no tailroom) */
	XDP_C_OTHER_HOST = 14,   /* tagged, to another machine's unicast MAC (a trunk) */
	XDP_C_MAX = 15,
};

struct xdp_cfg {
	__u8 mac[6];             /* the interface's MAC */
	__u8 enabled;            /* 0: pass everything */
	__u8 has_ll;             /* ll holds the interface's link-local address */
	__u8 ll[16];
};

struct xdp_rule {
	__u8 na_flags;           /* R (0x80) and O (0x20) */
	__u8 solicited;          /* set S (0x40) on replies */
	__u8 unicast;            /* answer unicast-destined NS */
	__u8 stateful;           /* pass: the rule needs the engine (auto, learn, docker) */
	__u8 src_mode;           /* 0 target, 1 link-local, 2 fixed */
	__u8 has_mac;
	__u8 mac[6];             /* advertised instead of the interface's MAC */
	__u8 src_fixed[16];
};

struct lpm_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_cfg);
} v6_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDP_MAX_RULES);
	__type(key, __u32);
	__type(value, struct xdp_rule);
} v6_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 262144);
	__type(key, struct lpm_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} v6_prefix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u8[16]);
	__type(value, __u8);
} v6_own SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} v6_count SEC(".maps");

static __always_inline int count(__u32 code, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&v6_count, &code);

	if (c)
		*c += 1;
	return verdict;
}

static __always_inline __u32 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Sum of 16-bit big-endian words of a 16-byte address. */
static __always_inline __u32 sum16(const __u8 *a)
{
	__u32 s = 0;

#pragma unroll
	for (int i = 0; i < 16; i += 2)
		s += ((__u32)a[i] << 8) | a[i + 1];
	return s;
}

static __always_inline void copy16(__u8 *d, const __u8 *s)
{
#pragma unroll
	for (int i = 0; i < 16; i++)
		d[i] = s[i];
}

static __always_inline void copy6(__u8 *d, const __u8 *s)
{
#pragma unroll
	for (int i = 0; i < 6; i++)
		d[i] = s[i];
}

static __always_inline int same6(const __u8 *a, const __u8 *b)
{
	__u8 o = 0;

#pragma unroll
	for (int i = 0; i < 6; i++)
		o |= a[i] ^ b[i];
	return o == 0;
}

static __always_inline int is_zero16(const __u8 *a)
{
	__u8 o = 0;

#pragma unroll
	for (int i = 0; i < 16; i++)
		o |= a[i];
	return o == 0;
}

/* The whole decision for a frame whose link layer is l2 bytes (14, or 18 with a tag). */
static __always_inline int ns_answer(struct xdp_md *ctx, const int l2)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *ip = data + l2;
	__u8 *icmp = ip + 40;
	__u8 msg[XDP_MAX_ICMP];
	__u8 dst_mac[6], src[16];
	struct lpm_key key;
	struct xdp_rule *rule;
	struct xdp_cfg *cfg;
	__u32 zero = 0, plen, mlen, s, v, ri, off;
	int delta, sll = -1, nopt;

	if ((void *)(icmp + 24) > data_end) {
		if ((void *)(ip + 40) > data_end)
			return count(XDP_C_INVALID, XDP_PASS);  /* truncated IPv6 header */
		if (ip[6] != 58)
			return count(ip[6] == 0 || ip[6] == 43 || ip[6] == 60 ?
				     XDP_C_EXT_HDR : XDP_C_OTHER, XDP_PASS);
		if ((void *)(icmp + 1) <= data_end && icmp[0] != 135)
			return count(XDP_C_OTHER, XDP_PASS);
		return count(XDP_C_INVALID, XDP_PASS);
	}
	if ((ip[0] >> 4) != 6)
		return count(XDP_C_INVALID, XDP_PASS);
	if (ip[6] != 58)
		return count(ip[6] == 0 || ip[6] == 43 || ip[6] == 60 ?
			     XDP_C_EXT_HDR : XDP_C_OTHER, XDP_PASS);
	if (icmp[0] != 135)
		return count(XDP_C_OTHER, XDP_PASS);       /* RS/RA/NA/Redirect, not ND */
	plen = ((__u32)ip[4] << 8) | ip[5];
	if ((void *)(ip + 40) + plen > data_end)
		return count(XDP_C_INVALID, XDP_PASS);     /* IP6_PLEN */
	if (ip[8] == 0xff)
		return count(XDP_C_INVALID, XDP_PASS);     /* SRC_MULTICAST */
	if (ip[7] != 255 || icmp[1] != 0 || plen < 24)
		return count(XDP_C_INVALID, XDP_PASS);     /* HOP_LIMIT, CODE, ICMP_LEN */
	if (plen > XDP_MAX_ICMP)
		return count(XDP_C_TOO_LONG, XDP_PASS);
	/* options come in units of 8 bytes after the 24-byte NS: any other length fails the
	 * engine's checksum or option checks (CHECKSUM, OPT_TRUNC) */
	if (plen & 7)
		return count(XDP_C_INVALID, XDP_PASS);

	/* the message on the stack (bounded copy), then its checksum: the pseudo-header
	 * (RFC 8200 section 8.1) plus the message, in one's complement */
	__builtin_memset(msg, 0, sizeof(msg));
	mlen = plen & (XDP_MAX_ICMP * 2 - 1);
	if (mlen < 24 || mlen > XDP_MAX_ICMP)
		return count(XDP_C_INVALID, XDP_PASS);
	if (bpf_xdp_load_bytes(ctx, l2 + 40, msg, mlen) != 0)
		return count(XDP_C_INVALID, XDP_PASS);
	/* bpf_csum_diff sums 16-bit words in host order; folded and byte-swapped it is
	 * the sum of the big-endian words (one's complement sums commute with the swap) */
	s = fold((__u32)bpf_csum_diff(0, 0, (__be32 *)msg, mlen, 0));
	s = ((s & 0xff) << 8) | (s >> 8);
	s += sum16(ip + 8) + sum16(ip + 24) + plen + 58;
	if (fold(s) != 0xffff)
		return count(XDP_C_INVALID, XDP_PASS);     /* CHECKSUM */

	/* options (RFC 4861 section 4.6): the first source link-layer option is kept */
	off = 24;
	for (nopt = 0; nopt < XDP_MAX_OPTS; nopt++) {
		__u32 ol;

		if (off >= mlen)
			break;
		/* off < mlen <= 256 and both are multiples of 8: two bytes are there */
		ol = (__u32)msg[(off + 1) & (XDP_MAX_ICMP - 1)] * 8;
		if (ol == 0 || ol > mlen - off)
			return count(XDP_C_INVALID, XDP_PASS); /* OPT_LEN_ZERO, OPT_TRUNC */
		if (msg[off & (XDP_MAX_ICMP - 1)] == 1) {
			if (ol != 8)
				return count(XDP_C_INVALID, XDP_PASS); /* OPT_LLAO_LEN */
			if (sll < 0)
				sll = off + 2;
		}
		off += ol;
	}
	if (off < mlen)
		return count(XDP_C_TOO_LONG, XDP_PASS);
	if (icmp[8] == 0xff)
		return count(XDP_C_INVALID, XDP_PASS);     /* TARGET_MULTICAST */
	if (is_zero16(ip + 8))
		return count(XDP_C_DAD, XDP_PASS);         /* the engine ignores or defends */

	/* policy: the maps */
	cfg = bpf_map_lookup_elem(&v6_cfg, &zero);
	if (!cfg || !cfg->enabled)
		return count(XDP_C_DISABLED, XDP_PASS);
	/* the engine's rule: a trunk passes every VLAN's frames, so a tagged one must be
	 * addressed to this interface's MAC or to a group address */
	if (l2 == 18 && !(((__u8 *)data)[0] & 1) && !same6(data, cfg->mac))
		return count(XDP_C_OTHER_HOST, XDP_PASS);
	key.prefixlen = 128;
	copy16(key.addr, icmp + 8);
	{
		__u32 *val = bpf_map_lookup_elem(&v6_prefix, &key);

		if (!val)
			return count(XDP_C_NO_RULE, XDP_PASS);
		v = *val;
	}
	if (v & 1)
		return count(XDP_C_EXCLUDED, XDP_PASS);
	if (bpf_map_lookup_elem(&v6_own, key.addr))
		return count(XDP_C_OWN, XDP_PASS);
	ri = v >> 1;
	rule = bpf_map_lookup_elem(&v6_rules, &ri);
	if (!rule || rule->stateful)
		return count(XDP_C_STATEFUL, XDP_PASS);
	if (!rule->unicast && ip[24] != 0xff)
		return count(XDP_C_UNICAST, XDP_PASS);
	if (rule->src_mode == 1 && !cfg->has_ll)
		return count(XDP_C_NO_LINKLOCAL, XDP_PASS);

	/* what the NA needs from the NS, before the rewrite */
	if (sll >= 0) {
		/* sll + 6 <= mlen <= 256: the option was 8 bytes inside the message */
		__u32 m = sll & (XDP_MAX_ICMP - 1);

		if (m > XDP_MAX_ICMP - 6)
			return count(XDP_C_INVALID, XDP_PASS);
		copy6(dst_mac, msg + m);
	} else {
		copy6(dst_mac, (__u8 *)data + 6);
	}
	copy16(src, ip + 8);

	delta = (int)(l2 + 40 + XDP_NA_ICMP_LEN) - (int)(data_end - data);
	if (delta != 0 && bpf_xdp_adjust_tail(ctx, delta) != 0)
		return count(XDP_C_ADJUST, XDP_PASS);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip = data + l2;
	icmp = ip + 40;
	if ((void *)(icmp + XDP_NA_ICMP_LEN) > data_end)
		return count(XDP_C_ADJUST, XDP_DROP);    /* cannot happen: the tail was set */

	/* the NA, in place */
	copy6(data, dst_mac);
	copy6((__u8 *)data + 6, cfg->mac);
	ip[0] = 0x60;
	ip[1] = 0;
	ip[2] = 0;
	ip[3] = 0;
	ip[4] = 0;
	ip[5] = XDP_NA_ICMP_LEN;
	ip[6] = 58;
	ip[7] = 255;
	if (rule->src_mode == 1)
		copy16(ip + 8, cfg->ll);
	else if (rule->src_mode == 2)
		copy16(ip + 8, rule->src_fixed);
	else
		copy16(ip + 8, key.addr);
	copy16(ip + 24, src);
	icmp[0] = 136;
	icmp[1] = 0;
	icmp[2] = 0;
	icmp[3] = 0;
	icmp[4] = (rule->na_flags & 0xa0) | (rule->solicited ? 0x40 : 0);
	icmp[5] = 0;
	icmp[6] = 0;
	icmp[7] = 0;
	/* the target stays where the NS had it (icmp + 8) */
	icmp[24] = 2;
	icmp[25] = 1;
	copy6(icmp + 26, rule->has_mac ? rule->mac : cfg->mac);
	s = sum16(ip + 8) + sum16(ip + 24) + XDP_NA_ICMP_LEN + 58;
#pragma unroll
	for (int i = 0; i < XDP_NA_ICMP_LEN; i += 2)
		s += ((__u32)icmp[i] << 8) | icmp[i + 1];
	s = ~fold(s) & 0xffff;
	icmp[2] = s >> 8;
	icmp[3] = s & 0xff;
	return count(XDP_C_ANSWERED, XDP_TX);
}

SEC("xdp")
int v6core_ndp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *eth = data;
	__u16 et;

	if ((void *)(eth + 18) > data_end) {
		if ((void *)(eth + 14) <= data_end && eth[12] == 0x86 && eth[13] == 0xdd)
			return count(XDP_C_INVALID, XDP_PASS);
		return count(XDP_C_OTHER, XDP_PASS);
	}
	et = ((__u16)eth[12] << 8) | eth[13];
	if (et == ETH_P_IPV6)
		return ns_answer(ctx, 14);
	if (et == ETH_P_8021Q && eth[16] == 0x86 && eth[17] == 0xdd)
		return ns_answer(ctx, 18);
	return count(XDP_C_OTHER, XDP_PASS);
}

char _license[] SEC("license") = "Dual MIT/GPL";
