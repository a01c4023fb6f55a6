/**
 * Program section names, as libbpf names them (tools/lib/bpf/libbpf.c, `section_defs`),
 * to program type, expected attach type and program flags. A name is matched exactly,
 * or by its prefix up to a `/` when the rest names the attach target (`kprobe/tcp_connect`).
 */
import { AttachType, ProgramType } from '../program/program-type.js';

/** What a section name says about its programs. */
export interface SectionKind {
  readonly type: ProgramType;
  /** `enum bpf_attach_type` to pass as `expected_attach_type`, when the section gives one. */
  readonly attachType?: number;
  /** `BPF_F_*` program flags (`xdp.frags`: `BPF_F_XDP_HAS_FRAGS`). */
  readonly flags?: number;
}

/** `enum bpf_attach_type` values that {@link AttachType} does not list. */
const Attach = {
  SkSkbStreamParser: 4,
  SkSkbStreamVerdict: 5,
  CgroupDevice: 6,
  SkMsgVerdict: 7,
  CgroupInet4PostBind: 12,
  CgroupInet6PostBind: 13,
  FlowDissector: 17,
  CgroupSysctl: 18,
  CgroupUdp4Recvmsg: 19,
  CgroupUdp6Recvmsg: 20,
  CgroupInet4Getpeername: 29,
  CgroupInet6Getpeername: 30,
  CgroupInet4Getsockname: 31,
  CgroupInet6Getsockname: 32,
  CgroupInetSockRelease: 34,
} as const;

/** `BPF_F_XDP_HAS_FRAGS` (5.18). */
const XDP_HAS_FRAGS = 1 << 5;

const exact: Readonly<Record<string, SectionKind>> = {
  socket: { type: ProgramType.SocketFilter },
  xdp: { type: ProgramType.Xdp, attachType: AttachType.Xdp },
  'xdp.frags': { type: ProgramType.Xdp, attachType: AttachType.Xdp, flags: XDP_HAS_FRAGS },
  tc: { type: ProgramType.SchedCls },
  classifier: { type: ProgramType.SchedCls },
  action: { type: ProgramType.SchedAct },
  'tc/ingress': { type: ProgramType.SchedCls, attachType: AttachType.TcxIngress },
  'tc/egress': { type: ProgramType.SchedCls, attachType: AttachType.TcxEgress },
  'tcx/ingress': { type: ProgramType.SchedCls, attachType: AttachType.TcxIngress },
  'tcx/egress': { type: ProgramType.SchedCls, attachType: AttachType.TcxEgress },
  'netkit/primary': { type: ProgramType.SchedCls, attachType: AttachType.NetkitPrimary },
  'netkit/peer': { type: ProgramType.SchedCls, attachType: AttachType.NetkitPeer },
  perf_event: { type: ProgramType.PerfEvent },
  lwt_in: { type: ProgramType.LwtIn },
  lwt_out: { type: ProgramType.LwtOut },
  lwt_xmit: { type: ProgramType.LwtXmit },
  sockops: { type: ProgramType.SockOps, attachType: AttachType.CgroupSockOps },
  'sk_skb/stream_parser': { type: ProgramType.SkSkb, attachType: Attach.SkSkbStreamParser },
  'sk_skb/stream_verdict': { type: ProgramType.SkSkb, attachType: Attach.SkSkbStreamVerdict },
  sk_skb: { type: ProgramType.SkSkb },
  sk_msg: { type: ProgramType.SkMsg, attachType: Attach.SkMsgVerdict },
  sk_reuseport: { type: ProgramType.SkReuseport },
  flow_dissector: { type: ProgramType.FlowDissector, attachType: Attach.FlowDissector },
  sk_lookup: { type: ProgramType.SkLookup, attachType: AttachType.SkLookup },
  netfilter: { type: ProgramType.Netfilter, attachType: AttachType.Netfilter },
  'cgroup_skb/ingress': { type: ProgramType.CgroupSkb, attachType: AttachType.CgroupInetIngress },
  'cgroup_skb/egress': { type: ProgramType.CgroupSkb, attachType: AttachType.CgroupInetEgress },
  'cgroup/skb': { type: ProgramType.CgroupSkb },
  'cgroup/sock': { type: ProgramType.CgroupSock, attachType: AttachType.CgroupInetSockCreate },
  'cgroup/sock_create': { type: ProgramType.CgroupSock, attachType: AttachType.CgroupInetSockCreate },
  'cgroup/sock_release': { type: ProgramType.CgroupSock, attachType: Attach.CgroupInetSockRelease },
  'cgroup/post_bind4': { type: ProgramType.CgroupSock, attachType: Attach.CgroupInet4PostBind },
  'cgroup/post_bind6': { type: ProgramType.CgroupSock, attachType: Attach.CgroupInet6PostBind },
  'cgroup/bind4': { type: ProgramType.CgroupSockAddr, attachType: AttachType.CgroupInet4Bind },
  'cgroup/bind6': { type: ProgramType.CgroupSockAddr, attachType: AttachType.CgroupInet6Bind },
  'cgroup/connect4': { type: ProgramType.CgroupSockAddr, attachType: AttachType.CgroupInet4Connect },
  'cgroup/connect6': { type: ProgramType.CgroupSockAddr, attachType: AttachType.CgroupInet6Connect },
  'cgroup/sendmsg4': { type: ProgramType.CgroupSockAddr, attachType: AttachType.CgroupUdp4Sendmsg },
  'cgroup/sendmsg6': { type: ProgramType.CgroupSockAddr, attachType: AttachType.CgroupUdp6Sendmsg },
  'cgroup/recvmsg4': { type: ProgramType.CgroupSockAddr, attachType: Attach.CgroupUdp4Recvmsg },
  'cgroup/recvmsg6': { type: ProgramType.CgroupSockAddr, attachType: Attach.CgroupUdp6Recvmsg },
  'cgroup/getpeername4': { type: ProgramType.CgroupSockAddr, attachType: Attach.CgroupInet4Getpeername },
  'cgroup/getpeername6': { type: ProgramType.CgroupSockAddr, attachType: Attach.CgroupInet6Getpeername },
  'cgroup/getsockname4': { type: ProgramType.CgroupSockAddr, attachType: Attach.CgroupInet4Getsockname },
  'cgroup/getsockname6': { type: ProgramType.CgroupSockAddr, attachType: Attach.CgroupInet6Getsockname },
  'cgroup/sysctl': { type: ProgramType.CgroupSysctl, attachType: Attach.CgroupSysctl },
  'cgroup/getsockopt': { type: ProgramType.CgroupSockopt, attachType: AttachType.CgroupGetsockopt },
  'cgroup/setsockopt': { type: ProgramType.CgroupSockopt, attachType: AttachType.CgroupSetsockopt },
  'cgroup/dev': { type: ProgramType.CgroupDevice, attachType: Attach.CgroupDevice },
};

/** Sections whose name continues after a `/` with the attach target. */
const prefixes: Readonly<Record<string, SectionKind>> = {
  kprobe: { type: ProgramType.Kprobe },
  kretprobe: { type: ProgramType.Kprobe },
  uprobe: { type: ProgramType.Kprobe },
  uretprobe: { type: ProgramType.Kprobe },
  tracepoint: { type: ProgramType.Tracepoint },
  tp: { type: ProgramType.Tracepoint },
  raw_tracepoint: { type: ProgramType.RawTracepoint },
  raw_tp: { type: ProgramType.RawTracepoint },
  // Older names of the tc programs, with a free-form suffix (iproute2's `classifier/x`).
  classifier: { type: ProgramType.SchedCls },
  action: { type: ProgramType.SchedAct },
  xdp: { type: ProgramType.Xdp },
  socket: { type: ProgramType.SocketFilter },
};

/** What a program section's name means, or undefined when it is not a program section name. */
export function sectionKind(name: string): SectionKind | undefined {
  // Own properties only: a section named `constructor` is not a program section.
  if (Object.hasOwn(exact, name)) return exact[name];
  const prefix = name.slice(0, Math.max(0, name.indexOf('/')));
  return prefix && Object.hasOwn(prefixes, prefix) ? prefixes[prefix] : undefined;
}
