// Twill's policy dataplane: tcx programs on each pod's host-side veth. Built by
// `npm run build:bpf` (clang -O2 -g -target bpf) and loaded by the agent's eBPF driver
// with @twill/ebpf; see apps/agent/README.md, "eBPF dataplane".
//
// Per packet: parse Ethernet, IPv4 or IPv6 (skipping extension headers), then TCP, UDP,
// SCTP, ICMP or ICMPv6 (IPv4 TCP, UDP and SCTP read straight from the packet's head, the
// rest through bpf_skb_load_bytes). A packet of a connection already allowed here (either
// way: one lookup of a key that is the same both ways) passes with no other lookup and,
// unless a second has gone by since its last refresh or it is the connection's first
// reply, no write; otherwise the remote address's identity comes from tw_ipcache
// (longest prefix; none: world) and the verdict from tw_policy, looked up first with that
// identity and then with identity 0 ("any other"). No entry at all drops: an endpoint
// is fail-closed until the agent programs it. An allowed first packet (TCP: a SYN)
// starts a connection in tw_ct, whose TCP state follows SYN, FIN and RST. Decisions, and
// each connection's first reply at each endpoint (with the rule that allowed the
// connection), go to tw_events when the agent asked for them (tw_config); other packets
// of known connections write none. An Allow with L7 rules (TW_VERDICT_PROXY) admits a new
// connection into the pod only when it comes from the L7 proxy (its mark, tw_l7). A new
// TCP connection (SYN without ACK) that a pod's egress allows towards a pod of the same
// node (the route's device, bpf_fib_lookup) also meets the destination's ingress policy
// at the source's veth, before the node's netfilter, whose L7 redirect would otherwise
// hand the proxy a SYN the destination denies: a deny drops it there, written as the
// destination's ingress drop.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "policy.h"

// tcx return codes (linux/bpf.h of 6.6; Debian's older headers lack them).
#define TCX_NEXT -1
#define TCX_DROP 2

// Connections idle longer than this are forgotten: established TCP, TCP before the
// handshake completes or after a FIN, TCP after a RST, then the other protocols.
#define TW_CT_TCP_TIMEOUT_NS (3600ULL * 1000000000ULL)
#define TW_CT_TCP_SHORT_TIMEOUT_NS (60ULL * 1000000000ULL)
#define TW_CT_TCP_CLOSED_TIMEOUT_NS (10ULL * 1000000000ULL)
#define TW_CT_OTHER_TIMEOUT_NS (60ULL * 1000000000ULL)

// TCP header flags (RFC 9293 §3.1).
#define TW_TCP_FIN 0x01
#define TW_TCP_SYN 0x02
#define TW_TCP_RST 0x04
#define TW_TCP_ACK 0x10
// last_seen is refreshed at most this often (a write per packet costs cache lines).
// Times come from bpf_ktime_get_coarse_ns (Linux 5.11): a tick's resolution is plenty for
// idle timeouts of seconds, and it is cheaper than bpf_ktime_get_ns per packet.
#define TW_CT_REFRESH_NS (1000000000ULL)

#define IPPROTO_ICMPV6_ 58
#define TW_AF_INET 2
#define TW_AF_INET6 10
#define IPV6_MAX_EXT_HEADERS 6

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct tw_ip_key);
	__type(value, __u32);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tw_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct tw_policy_key);
	__type(value, struct tw_policy_value);
	__uint(max_entries, 1048576);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tw_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct tw_ct_key);
	__type(value, struct tw_ct_value);
	__uint(max_entries, 262144);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tw_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_l7);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tw_l7 SEC(".maps");

// Verdicts for the agent (struct tw_flow_event). 72 bytes a record: 4 MiB hold 58,254, over half a second of a
// 100k/s burst while the agent's event loop is busy elsewhere (a collection, an apply).
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tw_events SEC(".maps");

// Verdicts tw_events had no room for (the kernel keeps no such count): one counter per
// CPU, summed by the agent, which reports increases as lost flow events.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tw_lost SEC(".maps");

struct packet {
	__u8 family;
	__u8 protocol;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 tcp_flags;
	__be16 sport;
	__be16 dport;
	// Network byte order; IPv4 in word 0. Words, so that ends compare in four steps.
	__u32 saddr[4];
	__u32 daddr[4];
};

// The L4 header at `offset`: ports, or ICMP type and code (echo ids as both ports, so
// a reply is the reversed tuple of its request). 0: parsed; -1: truncated.
static __always_inline int parse_l4(struct __sk_buff *skb, __u32 offset, struct packet *p)
{
	__u8 head[8];
	__u8 tcp[14];

	switch (p->protocol) {
	case IPPROTO_TCP:
		// Ports, and the flags in byte 13 (RFC 9293 §3.1): one load.
		if (bpf_skb_load_bytes(skb, offset, tcp, sizeof(tcp)) < 0)
			return -1;
		__builtin_memcpy(&p->sport, tcp, 2);
		__builtin_memcpy(&p->dport, tcp + 2, 2);
		p->tcp_flags = tcp[13];
		return 0;
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if (bpf_skb_load_bytes(skb, offset, head, 4) < 0)
			return -1;
		__builtin_memcpy(&p->sport, head, 2);
		__builtin_memcpy(&p->dport, head + 2, 2);
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_:
		if (bpf_skb_load_bytes(skb, offset, head, 8) < 0)
			return -1;
		p->icmp_type = head[0];
		p->icmp_code = head[1];
		if ((p->protocol == IPPROTO_ICMP && (head[0] == 8 || head[0] == 0)) ||
		    (p->protocol == IPPROTO_ICMPV6_ && (head[0] == 128 || head[0] == 129))) {
			__builtin_memcpy(&p->sport, head + 4, 2);
			__builtin_memcpy(&p->dport, head + 4, 2);
		}
		return 0;
	default:
		return 0;
	}
}

// IPv4 TCP, UDP and SCTP read in place from the packet's linear head, without a helper
// call. 1: parsed; 0: not all of it is in the head, or another protocol (the caller
// parses with bpf_skb_load_bytes); -1: malformed.
static __always_inline int parse_ipv4_direct(struct __sk_buff *skb, struct packet *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	__u8 *l4;

	if ((void *)(ip + 1) > data_end)
		return 0;
	if (ip->ihl < 5)
		return -1;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_SCTP)
		return 0;
	p->family = 4;
	p->protocol = ip->protocol;
	p->saddr[0] = ip->saddr;
	p->daddr[0] = ip->daddr;
	// A non-first fragment has no L4 header: it is decided with port 0.
	if (ip->frag_off & bpf_htons(0x1fff))
		return 1;
	l4 = (__u8 *)ip + ip->ihl * 4;
	// TCP: ports, and the flags in byte 13 (RFC 9293 §3.1); UDP and SCTP: the ports.
	if (l4 + 14 > (__u8 *)data_end) {
		if (p->protocol == IPPROTO_TCP || l4 + 4 > (__u8 *)data_end)
			return 0;
	} else if (p->protocol == IPPROTO_TCP) {
		p->tcp_flags = l4[13];
	}
	__builtin_memcpy(&p->sport, l4, 2);
	__builtin_memcpy(&p->dport, l4 + 2, 2);
	return 1;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, struct packet *p)
{
	struct iphdr ip;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.ihl < 5)
		return -1;
	p->family = 4;
	p->protocol = ip.protocol;
	__builtin_memcpy(p->saddr, &ip.saddr, 4);
	__builtin_memcpy(p->daddr, &ip.daddr, 4);
	// A non-first fragment has no L4 header: it is decided with port 0.
	if (ip.frag_off & bpf_htons(0x1fff))
		return 0;
	return parse_l4(skb, ETH_HLEN + ip.ihl * 4, p);
}

// IPv6 with up to IPV6_MAX_EXT_HEADERS extension headers (hop-by-hop, routing,
// destination options, fragment, authentication) before the L4 header (RFC 8200 §4).
static __always_inline int parse_ipv6(struct __sk_buff *skb, struct packet *p)
{
	struct ipv6hdr ip;
	__u8 ext[2];
	__u32 offset = ETH_HLEN + sizeof(ip);
	__u8 next;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return -1;
	p->family = 6;
	__builtin_memcpy(p->saddr, &ip.saddr, 16);
	__builtin_memcpy(p->daddr, &ip.daddr, 16);
	next = ip.nexthdr;
#pragma unroll
	for (int i = 0; i < IPV6_MAX_EXT_HEADERS; i++) {
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
		    next != IPPROTO_FRAGMENT && next != IPPROTO_AH)
			break;
		if (bpf_skb_load_bytes(skb, offset, ext, 2) < 0)
			return -1;
		if (next == IPPROTO_FRAGMENT) {
			__u8 frag[4];

			if (bpf_skb_load_bytes(skb, offset, frag, 4) < 0)
				return -1;
			next = ext[0];
			offset += 8;
			// A non-first fragment: decided with port 0, like IPv4's.
			if (((frag[2] << 8) | frag[3]) & 0xfff8) {
				p->protocol = next;
				return 0;
			}
			continue;
		}
		offset += next == IPPROTO_AH ? (ext[1] + 2) * 4 : (ext[1] + 1) * 8;
		next = ext[0];
	}
	p->protocol = next;
	return parse_l4(skb, offset, p);
}

static __always_inline __u32 remote_identity(const struct packet *p, __u8 direction)
{
	struct tw_ip_key key = {};
	__u32 *identity;

	key.family = p->family;
	key.prefixlen = 8 + (p->family == 4 ? 32 : 128);
	if (direction == TW_DIR_INGRESS)
		__builtin_memcpy(key.addr, p->saddr, 16);
	else
		__builtin_memcpy(key.addr, p->daddr, 16);
	identity = bpf_map_lookup_elem(&tw_ipcache, &key);
	return identity ? *identity : TW_IDENTITY_WORLD;
}

// Whether the agent reads flow events (no reader: no ring buffer work per new flow).
static __always_inline int flow_events_on(void)
{
	__u32 zero = 0;
	struct tw_config *config = bpf_map_lookup_elem(&tw_config, &zero);

	return config && (config->flags & TW_CONFIG_FLOW_EVENTS);
}

static __always_inline void flow_event(__u32 endpoint, __u8 direction, const struct packet *p, __u32 identity,
				       __u32 rule, __u8 verdict, __u8 reason)
{
	struct tw_flow_event *e;
	__u32 zero = 0;
	__u64 *lost;

	if (!flow_events_on())
		return;
	e = bpf_ringbuf_reserve(&tw_events, sizeof(*e), 0);
	if (!e) {
		// The ring is full: the packet goes on, the verdict is counted as lost.
		lost = bpf_map_lookup_elem(&tw_lost, &zero);
		if (lost)
			*lost += 1;
		return;
	}
	e->time_ns = bpf_ktime_get_ns();
	e->endpoint = endpoint;
	e->identity = identity;
	e->rule = rule;
	e->direction = direction;
	e->verdict = verdict;
	e->protocol = p->protocol;
	e->family = p->family;
	e->reason = reason;
	e->tcp_flags = p->tcp_flags;
	e->sport = p->sport;
	e->dport = p->dport;
	e->icmp_type = p->icmp_type;
	e->icmp_code = p->icmp_code;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline __u64 ct_timeout(const struct packet *p, const struct tw_ct_value *value)
{
	if (p->protocol != IPPROTO_TCP)
		return TW_CT_OTHER_TIMEOUT_NS;
	if (value->state == TW_CT_ESTABLISHED)
		return TW_CT_TCP_TIMEOUT_NS;
	return value->state == TW_CT_CLOSED ? TW_CT_TCP_CLOSED_TIMEOUT_NS : TW_CT_TCP_SHORT_TIMEOUT_NS;
}

// A TCP packet of a known connection moves its entry on: a FIN starts the close, a RST
// ends it; a reply's SYN-ACK completes the handshake. Writes only when the state changes.
static __always_inline void ct_follow_tcp(struct tw_ct_value *value, __u8 flags, int reply)
{
	__u8 state = value->state;

	if (flags & TW_TCP_RST)
		state = TW_CT_CLOSED;
	else if (state == TW_CT_CLOSED)
		return;
	else if (flags & TW_TCP_FIN)
		state = TW_CT_CLOSING;
	else if (reply && state == TW_CT_SYN_SENT && (flags & TW_TCP_SYN))
		state = TW_CT_ESTABLISHED;
	if (state != value->state)
		value->state = state;
}

// Whether the packet's source end (address, then port) comes first in the connection's
// key: the lower of the two ends, address words compared in their memory order (any
// fixed order does; this one is four compares).
static __always_inline int source_is_a(const struct packet *p)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (p->saddr[i] != p->daddr[i])
			return p->saddr[i] < p->daddr[i];
	}
	return p->sport <= p->dport;
}

// The connection's key at this endpoint, the same for both ways, and the packet's origin
// bits (TW_CT_ORIGIN_*): its direction and whether its source is end A.
static __always_inline __u8 ct_key(struct tw_ct_key *key, __u32 endpoint, __u8 direction, const struct packet *p)
{
	int from_a = source_is_a(p);

	key->endpoint = endpoint;
	key->protocol = p->protocol;
	key->family = p->family;
	key->layout = TW_CT_LAYOUT_SYMMETRIC;
	if (from_a) {
		__builtin_memcpy(key->a_addr, p->saddr, 16);
		__builtin_memcpy(key->b_addr, p->daddr, 16);
		key->a_port = p->sport;
		key->b_port = p->dport;
	} else {
		__builtin_memcpy(key->a_addr, p->daddr, 16);
		__builtin_memcpy(key->b_addr, p->saddr, 16);
		key->a_port = p->dport;
		key->b_port = p->sport;
	}
	return (direction == TW_DIR_EGRESS ? TW_CT_ORIGIN_EGRESS : 0) | (from_a ? TW_CT_ORIGIN_FROM_A : 0);
}

// ct_known's answers: not a packet of a known connection (policy decides), one of its
// packets, or its first reply (TW_CT_SYN_SENT or TW_CT_UNREPLIED until then).
#define TW_CT_UNKNOWN 0
#define TW_CT_KNOWN 1
#define TW_CT_FIRST_REPLY 2

// Whether the connection is known at this endpoint: its own packets (the first packet's
// direction and source end), or replies (the other direction, from the other end). For
// TCP a reply counts only as the connection's state allows: before the handshake
// completes, only the SYN-ACK or a RST; a SYN without ACK is never a reply (it is a new
// connection, decided by policy). One lookup; a write only when the state moves (TCP's,
// or another protocol's first reply) or last_seen is more than TW_CT_REFRESH_NS old.
// The first reply's `rule` is the connection's (what allowed it), for its flow event.
static __always_inline int ct_known(__u32 endpoint, __u8 direction, const struct packet *p, __u64 now, __u32 *rule)
{
	struct tw_ct_key key = {};
	struct tw_ct_value *value;
	int tcp = p->protocol == IPPROTO_TCP;
	__u8 flags = p->tcp_flags;
	int syn_only = tcp && (flags & (TW_TCP_SYN | TW_TCP_ACK)) == TW_TCP_SYN;
	__u8 origin = ct_key(&key, endpoint, direction, p);
	int reply;
	int first_reply;

	value = bpf_map_lookup_elem(&tw_ct, &key);
	if (!value || now - value->last_seen_ns > ct_timeout(p, value))
		return 0;
	if (origin == value->origin)
		reply = 0;
	else if (origin == (value->origin ^ (TW_CT_ORIGIN_EGRESS | TW_CT_ORIGIN_FROM_A)))
		reply = 1;
	else
		return 0; // the same tuple the other way round in the same direction: not this connection
	// TW_CT_SYN_SENT and TW_CT_UNREPLIED are one value: no reply has passed yet.
	first_reply = reply && value->state == TW_CT_UNREPLIED;
	if (tcp) {
		// A new connection on the tuple of one that is closing or closed, or opened from
		// the other side: decided by policy, like a first SYN.
		if (syn_only && (reply || value->state == TW_CT_CLOSING || value->state == TW_CT_CLOSED))
			return TW_CT_UNKNOWN;
		if (reply && value->state == TW_CT_SYN_SENT && !(flags & (TW_TCP_SYN | TW_TCP_RST)))
			return TW_CT_UNKNOWN;
		ct_follow_tcp(value, flags, reply);
	} else if (first_reply) {
		value->state = TW_CT_ESTABLISHED;
	}
	if (now - value->last_seen_ns > TW_CT_REFRESH_NS)
		value->last_seen_ns = now;
	if (!first_reply)
		return TW_CT_KNOWN;
	*rule = value->rule;
	return TW_CT_FIRST_REPLY;
}

// Opens (or, on the tuple of an old connection, replaces) the connection's entry.
static __always_inline void ct_start(__u32 endpoint, __u8 direction, const struct packet *p, __u32 rule, __u64 now)
{
	struct tw_ct_key key = {};
	struct tw_ct_value value = {};

	value.origin = ct_key(&key, endpoint, direction, p);
	value.last_seen_ns = now;
	value.rule = rule;
	value.state = p->protocol == IPPROTO_TCP ? TW_CT_SYN_SENT : TW_CT_UNREPLIED;
	bpf_map_update_elem(&tw_ct, &key, &value, BPF_ANY);
}

// Whether the packet carries one of the L7 proxy's marks (tw_l7): the redirect's, set on
// a client's packets before tproxy, or the one the proxy's upstream sockets carry.
static __always_inline int proxied(const struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct tw_l7 *l7 = bpf_map_lookup_elem(&tw_l7, &zero);
	__u32 mark;

	if (!l7)
		return 0;
	mark = skb->mark & l7->mask;
#pragma unroll
	for (int i = 0; i < TW_L7_MAX_MARKS; i++) {
		if (i < l7->count && mark == l7->values[i])
			return 1;
	}
	return 0;
}

// The pod of this node that the packet is routed to: the host-side veth of its route (a
// pod's /32 or /128 route goes through its veth), or 0 when the route leads elsewhere or
// the lookup fails (no forwarding, a kernel before 6.4 and BPF_FIB_LOOKUP_SKIP_NEIGH):
// the destination's own program decides then, as always.
static __always_inline __u32 local_destination(struct __sk_buff *skb, const struct packet *p)
{
	struct bpf_fib_lookup fib = {};

	fib.family = p->family == 4 ? TW_AF_INET : TW_AF_INET6;
	fib.l4_protocol = p->protocol;
	fib.sport = p->sport;
	fib.dport = p->dport;
	fib.ifindex = skb->ifindex;
	__builtin_memcpy(fib.ipv6_src, p->saddr, 16);
	__builtin_memcpy(fib.ipv6_dst, p->daddr, 16);
	if (bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_SKIP_NEIGH) != BPF_FIB_LKUP_RET_SUCCESS)
		return 0;
	return fib.ifindex;
}

// Whether the ingress policy of the local pod a packet leaving a pod goes to denies it:
// the destination's own lookup (the source's identity, protocol, destination port,
// longest prefix, then identity 0), done at the source's veth, where it writes the
// destination's flow event (its endpoint, ingress) for a deny. `key` comes with the
// protocol and port of the source's egress lookup: the destination port, the same key
// fields at both ends. An L7 Allow (TW_VERDICT_PROXY) counts as an allow here: the packet
// is on its way to the redirect, and the destination's program checks the proxy's mark on
// what reaches the pod. No entry at all: not an endpoint (an endpoint the agent programmed
// has entries for any identity and port), or one the agent has not programmed yet, whose
// own program drops everything.
static __always_inline int local_ingress_denies(struct __sk_buff *skb, const struct packet *p, struct tw_policy_key *key)
{
	struct tw_policy_value *value;
	__u32 destination = local_destination(skb, p);
	__u32 identity;

	if (destination == 0)
		return 0;
	identity = remote_identity(p, TW_DIR_INGRESS);
	key->endpoint = destination;
	key->identity = identity;
	key->direction = TW_DIR_INGRESS;
	value = bpf_map_lookup_elem(&tw_policy, key);
	if (!value) {
		key->identity = TW_IDENTITY_ANY;
		value = bpf_map_lookup_elem(&tw_policy, key);
	}
	if (!value || value->verdict == TW_VERDICT_ALLOW || value->verdict == TW_VERDICT_PROXY)
		return 0;
	flow_event(destination, TW_DIR_INGRESS, p, identity, value->rule, value->verdict, TW_REASON_POLICY);
	return 1;
}

// IPv6 neighbour discovery and router messages (RFC 4861) always pass: without them
// no IPv6 traffic flows at all, whatever policy says.
static __always_inline int is_neighbour_discovery(const struct packet *p)
{
	return p->protocol == IPPROTO_ICMPV6_ && p->icmp_type >= 133 && p->icmp_type <= 137;
}

static __always_inline int enforce(struct __sk_buff *skb, __u8 direction)
{
	struct packet p = {};
	struct tw_policy_key key = {};
	struct tw_policy_value *value;
	__u32 endpoint = skb->ifindex;
	__u32 identity;
	__u32 rule = 0;
	__u64 now;
	int parsed;
	int known;
	int syn_only;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		parsed = parse_ipv4_direct(skb, &p);
		if (parsed == 0)
			parsed = parse_ipv4(skb, &p);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		parsed = parse_ipv6(skb, &p);
	else
		return TCX_NEXT; // ARP and the rest: not IP, not policy's business
	if (parsed < 0)
		return TCX_DROP;
	if (is_neighbour_discovery(&p))
		return TCX_NEXT;

	now = bpf_ktime_get_coarse_ns();
	known = ct_known(endpoint, direction, &p, now, &rule);
	if (known == TW_CT_KNOWN)
		return TCX_NEXT;
	if (known == TW_CT_FIRST_REPLY) {
		// Once a connection: the remote identity is looked up for the event only.
		if (flow_events_on())
			flow_event(endpoint, direction, &p, remote_identity(&p, direction), rule, TW_VERDICT_ALLOW, TW_REASON_REPLY);
		return TCX_NEXT;
	}

	identity = remote_identity(&p, direction);
	key.prefixlen = 96;
	key.endpoint = endpoint;
	key.identity = identity;
	key.direction = direction;
	key.protocol = p.protocol;
	if (p.protocol == IPPROTO_ICMP || p.protocol == IPPROTO_ICMPV6_)
		key.port = bpf_htons((p.icmp_type << 8) | p.icmp_code);
	else
		key.port = p.dport;
	value = bpf_map_lookup_elem(&tw_policy, &key);
	if (!value) {
		key.identity = TW_IDENTITY_ANY;
		value = bpf_map_lookup_elem(&tw_policy, &key);
	}
	if (!value) {
		flow_event(endpoint, direction, &p, identity, 0, TW_VERDICT_DENY, TW_REASON_NO_ENTRY);
		return TCX_DROP;
	}
	// An Allow with L7 rules admits only the proxy's traffic into the pod: the upstream
	// connections it opens carry its mark here (tcx egress, after the node's netfilter),
	// while a client's packets that went around a missing redirect carry none. Out of the
	// pod (tcx ingress) the packet has not met the redirect yet (it sets its mark at
	// prerouting, after this hook, and the veth cleared any mark the pod set), so there it
	// is a plain allow; the redirect hands it to the proxy.
	if (value->verdict == TW_VERDICT_PROXY) {
		if (direction == TW_DIR_INGRESS && !proxied(skb)) {
			flow_event(endpoint, direction, &p, identity, value->rule, TW_VERDICT_DENY, TW_REASON_NOT_PROXIED);
			return TCX_DROP;
		}
		flow_event(endpoint, direction, &p, identity, value->rule, TW_VERDICT_ALLOW, TW_REASON_POLICY);
	} else {
		flow_event(endpoint, direction, &p, identity, value->rule, value->verdict, TW_REASON_POLICY);
		if (value->verdict != TW_VERDICT_ALLOW)
			return TCX_DROP;
	}
	rule = value->rule;
	syn_only = p.protocol == IPPROTO_TCP && (p.tcp_flags & (TW_TCP_SYN | TW_TCP_ACK)) == TW_TCP_SYN;
	// A new TCP connection to a pod of this node meets that pod's ingress policy here too,
	// before the node's netfilter (the L7 redirect's tproxy at prerouting would hand a
	// denied SYN to the proxy, and the destination's program would never see it).
	if (direction == TW_DIR_EGRESS && syn_only && local_ingress_denies(skb, &p, &key))
		return TCX_DROP;
	// Only a connection's first packet opens it: for TCP a SYN without ACK. Any other
	// allowed packet passes on its own, and a reply to it is decided by policy too.
	if (p.protocol != IPPROTO_TCP || syn_only)
		ct_start(endpoint, direction, &p, rule, now);
	return TCX_NEXT;
}

// Packets from the pod enter the host through its veth: the pod's egress.
SEC("tcx/ingress")
int tw_from_pod(struct __sk_buff *skb)
{
	return enforce(skb, TW_DIR_EGRESS);
}

// Packets to the pod leave the host through its veth: the pod's ingress.
SEC("tcx/egress")
int tw_to_pod(struct __sk_buff *skb)
{
	return enforce(skb, TW_DIR_INGRESS);
}

char _license[] SEC("license") = "GPL";
