/** Program and attach types: `enum bpf_prog_type` and `enum bpf_attach_type` (include/uapi/linux/bpf.h). */

/** Program types, by their `enum bpf_prog_type` number, with the Linux version that added each. */
export const ProgramType = {
  /** `BPF_PROG_TYPE_SOCKET_FILTER` (3.19). */
  SocketFilter: 1,
  /** `BPF_PROG_TYPE_KPROBE` (4.1). */
  Kprobe: 2,
  /** `BPF_PROG_TYPE_SCHED_CLS` (4.1): tc classifiers and tcx. */
  SchedCls: 3,
  /** `BPF_PROG_TYPE_SCHED_ACT` (4.1). */
  SchedAct: 4,
  /** `BPF_PROG_TYPE_TRACEPOINT` (4.7). */
  Tracepoint: 5,
  /** `BPF_PROG_TYPE_XDP` (4.8). */
  Xdp: 6,
  /** `BPF_PROG_TYPE_PERF_EVENT` (4.9). */
  PerfEvent: 7,
  /** `BPF_PROG_TYPE_CGROUP_SKB` (4.10). */
  CgroupSkb: 8,
  /** `BPF_PROG_TYPE_CGROUP_SOCK` (4.10). */
  CgroupSock: 9,
  /** `BPF_PROG_TYPE_LWT_IN` (4.10). */
  LwtIn: 10,
  /** `BPF_PROG_TYPE_LWT_OUT` (4.10). */
  LwtOut: 11,
  /** `BPF_PROG_TYPE_LWT_XMIT` (4.10). */
  LwtXmit: 12,
  /** `BPF_PROG_TYPE_SOCK_OPS` (4.13). */
  SockOps: 13,
  /** `BPF_PROG_TYPE_SK_SKB` (4.14). */
  SkSkb: 14,
  /** `BPF_PROG_TYPE_CGROUP_DEVICE` (4.15). */
  CgroupDevice: 15,
  /** `BPF_PROG_TYPE_SK_MSG` (4.17). */
  SkMsg: 16,
  /** `BPF_PROG_TYPE_RAW_TRACEPOINT` (4.17). */
  RawTracepoint: 17,
  /** `BPF_PROG_TYPE_CGROUP_SOCK_ADDR` (4.17): needs an expected attach type. */
  CgroupSockAddr: 18,
  /** `BPF_PROG_TYPE_SK_REUSEPORT` (4.19). */
  SkReuseport: 21,
  /** `BPF_PROG_TYPE_FLOW_DISSECTOR` (4.20). */
  FlowDissector: 22,
  /** `BPF_PROG_TYPE_CGROUP_SYSCTL` (5.2). */
  CgroupSysctl: 23,
  /** `BPF_PROG_TYPE_CGROUP_SOCKOPT` (5.3): needs an expected attach type. */
  CgroupSockopt: 25,
  /** `BPF_PROG_TYPE_SK_LOOKUP` (5.9): needs an expected attach type. */
  SkLookup: 30,
  /** `BPF_PROG_TYPE_NETFILTER` (6.4). */
  Netfilter: 32,
} as const;

/** One of the {@link ProgramType} numbers. */
export type ProgramType = (typeof ProgramType)[keyof typeof ProgramType];

/** The first Linux version with each program type. */
export const programTypeMinimumKernel: Readonly<Record<ProgramType, string>> = {
  [ProgramType.SocketFilter]: '3.19',
  [ProgramType.Kprobe]: '4.1',
  [ProgramType.SchedCls]: '4.1',
  [ProgramType.SchedAct]: '4.1',
  [ProgramType.Tracepoint]: '4.7',
  [ProgramType.Xdp]: '4.8',
  [ProgramType.PerfEvent]: '4.9',
  [ProgramType.CgroupSkb]: '4.10',
  [ProgramType.CgroupSock]: '4.10',
  [ProgramType.LwtIn]: '4.10',
  [ProgramType.LwtOut]: '4.10',
  [ProgramType.LwtXmit]: '4.10',
  [ProgramType.SockOps]: '4.13',
  [ProgramType.SkSkb]: '4.14',
  [ProgramType.CgroupDevice]: '4.15',
  [ProgramType.SkMsg]: '4.17',
  [ProgramType.RawTracepoint]: '4.17',
  [ProgramType.CgroupSockAddr]: '4.17',
  [ProgramType.SkReuseport]: '4.19',
  [ProgramType.FlowDissector]: '4.20',
  [ProgramType.CgroupSysctl]: '5.2',
  [ProgramType.CgroupSockopt]: '5.3',
  [ProgramType.SkLookup]: '5.9',
  [ProgramType.Netfilter]: '6.4',
};

/** Attach types, by their `enum bpf_attach_type` number: where a program runs. */
export const AttachType = {
  /** `BPF_CGROUP_INET_INGRESS` (4.10). */
  CgroupInetIngress: 0,
  /** `BPF_CGROUP_INET_EGRESS` (4.10). */
  CgroupInetEgress: 1,
  /** `BPF_CGROUP_INET_SOCK_CREATE` (4.10). */
  CgroupInetSockCreate: 2,
  /** `BPF_CGROUP_SOCK_OPS` (4.13). */
  CgroupSockOps: 3,
  /** `BPF_CGROUP_INET4_BIND` (4.17). */
  CgroupInet4Bind: 8,
  /** `BPF_CGROUP_INET6_BIND` (4.17). */
  CgroupInet6Bind: 9,
  /** `BPF_CGROUP_INET4_CONNECT` (4.17). */
  CgroupInet4Connect: 10,
  /** `BPF_CGROUP_INET6_CONNECT` (4.17). */
  CgroupInet6Connect: 11,
  /** `BPF_CGROUP_UDP4_SENDMSG` (4.18). */
  CgroupUdp4Sendmsg: 14,
  /** `BPF_CGROUP_UDP6_SENDMSG` (4.18). */
  CgroupUdp6Sendmsg: 15,
  /** `BPF_CGROUP_GETSOCKOPT` (5.3). */
  CgroupGetsockopt: 21,
  /** `BPF_CGROUP_SETSOCKOPT` (5.3). */
  CgroupSetsockopt: 22,
  /** `BPF_SK_LOOKUP` (5.9). */
  SkLookup: 36,
  /** `BPF_XDP` (5.9): XDP through `BPF_LINK_CREATE`. */
  Xdp: 37,
  /** `BPF_NETFILTER` (6.4). */
  Netfilter: 45,
  /** `BPF_TCX_INGRESS` (6.6). */
  TcxIngress: 46,
  /** `BPF_TCX_EGRESS` (6.6). */
  TcxEgress: 47,
  /** `BPF_NETKIT_PRIMARY` (6.7). */
  NetkitPrimary: 54,
  /** `BPF_NETKIT_PEER` (6.7). */
  NetkitPeer: 55,
} as const;

/** One of the {@link AttachType} numbers. */
export type AttachType = (typeof AttachType)[keyof typeof AttachType];

/** `ProgramType` name for a number, for messages. */
export function programTypeName(type: number): string {
  const entry = Object.entries(ProgramType).find(([, value]) => value === type);
  return entry ? entry[0] : `program type ${type}`;
}
