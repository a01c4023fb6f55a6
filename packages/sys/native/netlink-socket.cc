#include "common.h"

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace twill {

// Binds a netlink socket that is not bound yet, letting the kernel pick its port id
// (nl_pid 0: netlink_autobind). A socket gets bound by its first send otherwise; one that
// only listens must be bound to receive multicast: the kernel skips port id 0 when it
// delivers a notification that has no sender (net/netlink/af_netlink.c do_one_broadcast,
// `nlk->portid == p->portid`), such as a conntrack event.
static bool EnsureBound(Napi::Env env, int fd) {
  struct sockaddr_nl addr;
  socklen_t len = sizeof addr;
  memset(&addr, 0, sizeof addr);
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len) != 0) {
    ThrowErrno(env, errno, "getsockname");
    return false;
  }
  if (addr.nl_family != AF_NETLINK) {
    ThrowErrno(env, ENOTSUP, "getsockname (not a netlink socket)");
    return false;
  }
  if (addr.nl_pid != 0) return true;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    ThrowErrno(env, errno, "bind netlink");
    return false;
  }
  return true;
}

// setNetlinkMembership(fd, group, join): NETLINK_ADD_MEMBERSHIP (join) or
// NETLINK_DROP_MEMBERSHIP on a netlink socket (netlink(7); Linux 2.6.14), binding it
// first when it is not bound (see EnsureBound). The kernel refuses group 0 and groups
// the protocol does not have with EINVAL.
static Napi::Value SetNetlinkMembership(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  uint32_t group;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgUint(info, 1, "group", &group)) return env.Undefined();
  if (info.Length() <= 2 || !info[2].IsBoolean()) {
    ThrowArg(env, "join must be a boolean");
    return env.Undefined();
  }
  bool join = info[2].As<Napi::Boolean>().Value();
  if (join && !EnsureBound(env, fd)) return env.Undefined();
  int opt = join ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP;
  if (setsockopt(fd, SOL_NETLINK, opt, &group, sizeof group) != 0) {
    ThrowErrno(env, errno, join ? "setsockopt NETLINK_ADD_MEMBERSHIP" : "setsockopt NETLINK_DROP_MEMBERSHIP");
  }
  return env.Undefined();
}

// setNetlinkNoEnobufs(fd, on): NETLINK_NO_ENOBUFS (Linux 2.6.30). With it on, a message
// the kernel cannot queue is still counted in the socket's drops (SO_MEMINFO) but no
// longer puts the socket into the ENOBUFS error state.
static Napi::Value SetNetlinkNoEnobufs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  if (info.Length() <= 1 || !info[1].IsBoolean()) {
    ThrowArg(env, "on must be a boolean");
    return env.Undefined();
  }
  int on = info[1].As<Napi::Boolean>().Value() ? 1 : 0;
  if (setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof on) != 0) {
    ThrowErrno(env, errno, "setsockopt NETLINK_NO_ENOBUFS");
  }
  return env.Undefined();
}

// setReceiveBuffer(fd, bytes, mode): SO_RCVBUF (mode 0), SO_RCVBUFFORCE (mode 1, needs
// CAP_NET_ADMIN, not capped by net.core.rmem_max), or SO_RCVBUFFORCE falling back to
// SO_RCVBUF on EPERM (mode 2). Returns what getsockopt(SO_RCVBUF) reads back: the kernel
// doubles the value for its bookkeeping overhead (socket(7)) and applies its minimum.
static Napi::Value SetReceiveBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, bytes, mode;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgInt(info, 1, "bytes", &bytes) || !ArgInt(info, 2, "mode", &mode)) {
    return env.Undefined();
  }
  if (bytes < 0) {
    ThrowArg(env, "bytes must not be negative");
    return env.Undefined();
  }
  if (mode < 0 || mode > 2) {
    ThrowArg(env, "mode must be 0 (SO_RCVBUF), 1 (SO_RCVBUFFORCE) or 2 (forced if permitted)");
    return env.Undefined();
  }
  int value = bytes;
  int rc = -1;
  const char* what = "setsockopt SO_RCVBUF";
  if (mode != 0) {
    what = "setsockopt SO_RCVBUFFORCE";
    rc = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &value, sizeof value);
  }
  if (mode == 0 || (mode == 2 && rc != 0 && errno == EPERM)) {
    what = "setsockopt SO_RCVBUF";
    rc = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, sizeof value);
  }
  if (rc != 0) {
    ThrowErrno(env, errno, what);
    return env.Undefined();
  }
  int effective = 0;
  socklen_t len = sizeof effective;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &effective, &len) != 0) {
    ThrowErrno(env, errno, "getsockopt SO_RCVBUF");
    return env.Undefined();
  }
  return Napi::Number::New(env, effective);
}

// getMemInfo(fd): getsockopt(SOL_SOCKET, SO_MEMINFO) (Linux 4.12), the kernel's
// sk_meminfo array (SK_MEMINFO_*, include/uapi/linux/sock_diag.h) as numbers; as many
// entries as the kernel fills (9 since Linux 4.14 added SK_MEMINFO_DROPS).
static Napi::Value GetMemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  uint32_t mem[SK_MEMINFO_VARS + 8] = {};
  socklen_t len = sizeof mem;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0) {
    ThrowErrno(env, errno, "getsockopt SO_MEMINFO");
    return env.Undefined();
  }
  uint32_t count = len / sizeof mem[0];
  Napi::Array out = Napi::Array::New(env, count);
  for (uint32_t i = 0; i < count; i++) out.Set(i, Napi::Number::New(env, mem[i]));
  return out;
}

void InitNetlinkSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("setNetlinkMembership", Napi::Function::New(env, SetNetlinkMembership, "setNetlinkMembership"));
  exports.Set("setNetlinkNoEnobufs", Napi::Function::New(env, SetNetlinkNoEnobufs, "setNetlinkNoEnobufs"));
  exports.Set("setReceiveBuffer", Napi::Function::New(env, SetReceiveBuffer, "setReceiveBuffer"));
  exports.Set("getMemInfo", Napi::Function::New(env, GetMemInfo, "getMemInfo"));
}

}  // namespace twill
