// Twill's policy dataplane: the maps and records shared by the tc programs
// (policy.bpf.c) and the agent (apps/agent/src/dataplane/ebpf/maps.ts mirrors them
// field by field; keep the two in step).
#ifndef TWILL_POLICY_H
#define TWILL_POLICY_H

#include <linux/types.h>

// Directions as the policy sees them: the pod's ingress is traffic leaving the host
// through the pod's host-side veth (tcx egress); its egress enters through it.
#define TW_DIR_INGRESS 0
#define TW_DIR_EGRESS 1

// Verdicts in tw_policy values and flow events.
#define TW_VERDICT_ALLOW 1
#define TW_VERDICT_DENY 2
// tw_policy values only: an Allow with L7 rules, allowed only for packets carrying one of
// the L7 proxy's marks (tw_l7); flow events say TW_VERDICT_ALLOW, or TW_VERDICT_DENY
// with TW_REASON_NOT_PROXIED.
#define TW_VERDICT_PROXY 3

// Flow event reasons: a policy map entry decided, no entry existed (fail closed), or the
// connection tracker passed the first reply of a connection policy allowed at this
// endpoint (the event's rule is the one that allowed the connection; later packets of
// the connection, either way, write no event).
#define TW_REASON_POLICY 0
#define TW_REASON_NO_ENTRY 1
#define TW_REASON_REPLY 2
// A TW_VERDICT_PROXY entry decided and the packet carried none of tw_l7's marks: it went
// around the L7 proxy (the redirect is missing). The event's rule is the entry's.
#define TW_REASON_NOT_PROXIED 3

// The identity of addresses no ipcache entry covers, and the "any identity" key.
#define TW_IDENTITY_WORLD 2
#define TW_IDENTITY_ANY 0

// tw_ipcache key: an LPM key over (family, address). prefixlen counts the family byte
// (8 bits) plus the address prefix; IPv4 addresses use the first 4 bytes of addr.
struct tw_ip_key {
	__u32 prefixlen;
	__u8 family; // 4 or 6
	__u8 addr[16];
	__u8 pad[3];
};

// tw_policy key: an LPM key whose data is compared most significant byte first:
// endpoint (32 bits), identity (32), direction (8), protocol (8), port (16, network
// byte order). An entry of prefix length 80 + p matches the first p bits of the port
// (p = 16: one port; 0: any port of the protocol); 72 matches any protocol and port.
struct tw_policy_key {
	__u32 prefixlen;
	__u32 endpoint; // the host-side interface's ifindex
	__u32 identity; // the remote side's identity (or CIDR class); 0: any other
	__u8 direction;
	__u8 protocol;
	__be16 port; // destination port; ICMP type << 8 | code
};

struct tw_policy_value {
	__u32 rule; // rule id (the agent's table); 0: no rule (default)
	__u8 verdict;
	__u8 flags;
	__u16 pad;
};

// tw_ct key: a connection at one endpoint, the same for its packets both ways: its two
// ends (address and port) in a fixed order, end A the lower (compared as 32-bit words,
// then the port), so a packet and its reply find the entry in one lookup. The value's
// `origin` says which way the first packet went.
struct tw_ct_key {
	__u32 endpoint;
	__u8 a_addr[16];
	__u8 b_addr[16];
	__be16 a_port;
	__be16 b_port;
	__u8 protocol;
	__u8 layout; // TW_CT_LAYOUT_SYMMETRIC
	__u8 family;
	__u8 pad;
};

// tw_ct_key.layout of symmetric keys. Earlier versions put the first packet's direction
// (0 or 1) in this byte with its own source first: such entries never match a symmetric
// key and age out of the LRU map.
#define TW_CT_LAYOUT_SYMMETRIC 2

// TCP states of a tw_ct entry. Entries of the other protocols start at TW_CT_UNREPLIED
// and are established from their first reply on (entries of earlier versions start at 0:
// their first reply writes no event).
#define TW_CT_ESTABLISHED 0
#define TW_CT_SYN_SENT 1 // the originator's SYN passed; only its SYN-ACK (or RST) is a reply
#define TW_CT_UNREPLIED 1 // not TCP: no reply passed yet
#define TW_CT_CLOSING 2 // a FIN passed
#define TW_CT_CLOSED 3 // a RST passed: stragglers pass until the short timeout

// tw_ct_value.origin: the first packet's direction (TW_DIR_*) and whether its source was
// end A. A packet with the same bits is the originator's; with both flipped, a reply.
#define TW_CT_ORIGIN_EGRESS 1 // TW_DIR_EGRESS
#define TW_CT_ORIGIN_FROM_A 2

struct tw_ct_value {
	__u64 last_seen_ns; // bpf_ktime_get_coarse_ns, refreshed at most once a second
	__u32 rule;
	__u8 state; // TW_CT_*
	__u8 origin; // TW_CT_ORIGIN_* bits
	__u16 pad2;
};

// tw_config: one entry (key 0) of flags the agent sets.
#define TW_CONFIG_FLOW_EVENTS 1 // write verdicts to tw_events (someone reads them)

struct tw_config {
	__u32 flags;
};

// tw_l7: one entry (key 0), the L7 proxy's firewall marks, which the agent writes at
// every start (so a new mark takes effect without a reload). A packet is the proxy's
// when (skb->mark & mask) equals one of the first `count` values; count 0 matches none
// (TW_VERDICT_PROXY entries then drop everything, fail-closed).
#define TW_L7_MAX_MARKS 4

struct tw_l7 {
	__u32 mask;
	__u32 count; // values used, at most TW_L7_MAX_MARKS
	__u32 values[TW_L7_MAX_MARKS];
};

// One verdict, to the tw_events ring buffer: decisions of new flows, and the first reply
// of each allowed connection (TW_REASON_REPLY), never other packets of known
// connections. 64 bytes; a record takes 72 with the ring's header. Earlier versions had
// zero padding where tcp_flags and the ICMP type and code are now, and no replies.
struct tw_flow_event {
	__u64 time_ns; // bpf_ktime_get_ns
	__u32 endpoint;
	__u32 identity; // the remote side's identity (or CIDR class)
	__u32 rule;
	__u8 direction;
	__u8 verdict;
	__u8 protocol;
	__u8 family;
	__u8 reason; // TW_REASON_*
	__u8 tcp_flags; // TCP: the packet's flags byte (a new connection's SYN, a reply's SYN-ACK); 0 otherwise
	__be16 sport;
	__be16 dport;
	__u8 icmp_type; // ICMP and ICMPv6: the type and code; 0 otherwise
	__u8 icmp_code;
	__u8 saddr[16];
	__u8 daddr[16];
};

#endif
