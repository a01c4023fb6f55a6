#include "common.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace twill {

// socket(2) inside the network namespace `ns` (-1: the caller's own), close-on-exec;
// -1 with the JavaScript exception set on failure. The thread is always moved back.
static int OpenSocketIn(Napi::Env env, int32_t ns, int domain, int type, int protocol) {
  int saved = -1;
  if (ns >= 0) {
    saved = EnterThreadNetns(env, ns);
    if (saved < 0) return -1;
  }
  int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
  int err = errno;
  if (saved >= 0) RestoreThreadNetns(saved);
  if (fd < 0) ThrowErrno(env, err, "socket");
  return fd;
}

// `address` (IPv6 when it has a ':', else IPv4) and `port` as a zeroed sockaddr in `sa`,
// its length in `len`; gives AF_INET or AF_INET6, or -1 after throwing a TypeError.
static int ParseSockaddr(Napi::Env env, const std::string& address, uint16_t port,
                         struct sockaddr_storage* sa, socklen_t* len) {
  memset(sa, 0, sizeof *sa);
  int ok;
  int domain;
  if (address.find(':') == std::string::npos) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(sa);
    sin->sin_family = domain = AF_INET;
    sin->sin_port = htons(port);
    *len = sizeof *sin;
    ok = inet_pton(AF_INET, address.c_str(), &sin->sin_addr);
  } else {
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(sa);
    sin6->sin6_family = domain = AF_INET6;
    sin6->sin6_port = htons(port);
    *len = sizeof *sin6;
    ok = inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr);
  }
  if (ok != 1) {
    ThrowArg(env, "address is not an IPv4 or IPv6 address: " + address);
    return -1;
  }
  return domain;
}

// socketIn(nsFd, domain, type, protocol): socket(2) created inside the network
// namespace `nsFd` (-1: the caller's own). A socket belongs for life to the namespace
// it was created in, so this is how a netlink or TCP socket reaches into a pod or a
// lab node. Always close-on-exec.
static Napi::Value SocketIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t ns, domain, type, protocol;
  if (!ArgInt(info, 0, "nsFd", &ns) || !ArgInt(info, 1, "domain", &domain) ||
      !ArgInt(info, 2, "type", &type) || !ArgInt(info, 3, "protocol", &protocol)) {
    return env.Undefined();
  }
  int fd = OpenSocketIn(env, ns, domain, type, protocol);
  if (fd < 0) return env.Undefined();
  return Napi::Number::New(env, fd);
}

// setTcpMd5(fd, address, prefixLength, key): installs (or, with an empty key,
// removes) the RFC 2385 TCP MD5 signature key for a peer address or prefix on a TCP
// socket. On a listening socket the key applies to the connections it accepts; on a
// client socket it must be set before connect().
static Napi::Value SetTcpMd5(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  uint32_t prefix;
  std::string address;
  uint8_t* key;
  size_t keylen;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgString(info, 1, "address", &address) ||
      !ArgUint(info, 2, "prefixLength", &prefix) || !ArgBytes(info, 3, "key", &key, &keylen)) {
    return env.Undefined();
  }
  if (keylen > TCP_MD5SIG_MAXKEYLEN) {
    ThrowArg(env, "key must be at most 80 bytes (TCP_MD5SIG_MAXKEYLEN)");
    return env.Undefined();
  }
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  socklen_t salen;
  int domain = ParseSockaddr(env, address, 0, &sig.tcpm_addr, &salen);
  if (domain < 0) return env.Undefined();
  uint32_t full = domain == AF_INET ? 32 : 128;
  if (prefix > full) {
    ThrowArg(env, "prefixLength is longer than the address");
    return env.Undefined();
  }
  sig.tcpm_keylen = static_cast<uint16_t>(keylen);
  memcpy(sig.tcpm_key, key, keylen);
  int opt = TCP_MD5SIG;
  if (prefix < full) {
    // TCP_MD5SIG_EXT with a prefix: Linux 4.13.
    opt = TCP_MD5SIG_EXT;
    sig.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    sig.tcpm_prefixlen = static_cast<uint8_t>(prefix);
  }
  if (setsockopt(fd, IPPROTO_TCP, opt, &sig, sizeof sig) != 0) {
    ThrowErrno(env, errno, "setsockopt TCP_MD5SIG");
  }
  return env.Undefined();
}

// The socket's address family (SO_DOMAIN), or -1 after throwing.
static int SocketDomain(Napi::Env env, int fd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    ThrowErrno(env, errno, "getsockopt SO_DOMAIN");
    return -1;
  }
  if (domain != AF_INET && domain != AF_INET6) {
    ThrowErrno(env, EAFNOSUPPORT, "SO_DOMAIN (not an IPv4 or IPv6 socket)");
    return -1;
  }
  return domain;
}

static bool SetInt(Napi::Env env, int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof value) == 0) return true;
  ThrowErrno(env, errno, std::string("setsockopt ") + what);
  return false;
}

// setTtl(fd, ttl): the TTL of the packets the socket sends (IP_TTL) and, on an IPv6
// socket, their hop limit (IPV6_UNICAST_HOPS) too: an IPv6 socket carries IPv4-mapped
// connections with IP_TTL. On a listening socket it is also the TTL of its SYN-ACKs and
// what the connections it accepts start with.
static Napi::Value SetTtl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  uint32_t ttl;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgUint(info, 1, "ttl", &ttl)) return env.Undefined();
  if (ttl < 1 || ttl > 255) {
    ThrowArg(env, "ttl must be within 1..255");
    return env.Undefined();
  }
  int domain = SocketDomain(env, fd);
  if (domain < 0) return env.Undefined();
  if (!SetInt(env, fd, IPPROTO_IP, IP_TTL, static_cast<int>(ttl), "IP_TTL")) return env.Undefined();
  if (domain == AF_INET6) SetInt(env, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, static_cast<int>(ttl), "IPV6_UNICAST_HOPS");
  return env.Undefined();
}

// setMinTtl(fd, minTtl): the kernel drops received packets with a lower TTL (IP_MINTTL,
// Linux 2.6.34) or hop limit (IPV6_MINHOPCOUNT, Linux 4.5, on an IPv6 socket): the
// Generalized TTL Security Mechanism (RFC 5082). 0 turns the check off.
static Napi::Value SetMinTtl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  uint32_t min;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgUint(info, 1, "minTtl", &min)) return env.Undefined();
  if (min > 255) {
    ThrowArg(env, "minTtl must be within 0..255");
    return env.Undefined();
  }
  int domain = SocketDomain(env, fd);
  if (domain < 0) return env.Undefined();
  if (!SetInt(env, fd, IPPROTO_IP, IP_MINTTL, static_cast<int>(min), "IP_MINTTL")) return env.Undefined();
  if (domain == AF_INET6) SetInt(env, fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, static_cast<int>(min), "IPV6_MINHOPCOUNT");
  return env.Undefined();
}

// getTtl(fd): [domain, IP_TTL, IP_MINTTL, IPV6_UNICAST_HOPS or -1, IPV6_MINHOPCOUNT or -1].
static Napi::Value GetTtl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  int domain = SocketDomain(env, fd);
  if (domain < 0) return env.Undefined();
  struct {
    int level, name;
    const char* what;
  } opts[] = {{IPPROTO_IP, IP_TTL, "IP_TTL"},
              {IPPROTO_IP, IP_MINTTL, "IP_MINTTL"},
              {IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS"},
              {IPPROTO_IPV6, IPV6_MINHOPCOUNT, "IPV6_MINHOPCOUNT"}};
  Napi::Array out = Napi::Array::New(env, 5);
  out.Set(0u, Napi::Number::New(env, domain));
  for (uint32_t i = 0; i < 4; i++) {
    int value = -1;
    if (opts[i].level == IPPROTO_IPV6 && domain != AF_INET6) {
      out.Set(i + 1, Napi::Number::New(env, -1));
      continue;
    }
    socklen_t len = sizeof value;
    if (getsockopt(fd, opts[i].level, opts[i].name, &value, &len) != 0) {
      ThrowErrno(env, errno, std::string("getsockopt ") + opts[i].what);
      return env.Undefined();
    }
    out.Set(i + 1, Napi::Number::New(env, value));
  }
  return out;
}

// transparentListener(nsFd, address, port): a TCP socket for a transparent proxy, made
// inside the network namespace `nsFd` (-1: the caller's), with SO_REUSEADDR and
// IP_TRANSPARENT (IPV6_TRANSPARENT for an IPv6 address; Linux 2.6.37; and IPV6_V6ONLY 0
// for `::`, dual-stack whatever net.ipv6.bindv6only says), bound to
// address:port and not yet listening: listen(2) is the caller's (Node's listen({ fd })).
// IP_TRANSPARENT needs CAP_NET_ADMIN or CAP_NET_RAW; it lets an nftables/iptables
// `tproxy` rule hand the socket connections addressed to any address and port, which the
// accepted socket then has as its local address. Close-on-exec; closed on failure.
static Napi::Value TransparentListener(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t ns;
  std::string address;
  uint32_t port;
  if (!ArgInt(info, 0, "nsFd", &ns) || !ArgString(info, 1, "address", &address) || !ArgUint(info, 2, "port", &port)) {
    return env.Undefined();
  }
  if (port > 65535) {
    ThrowArg(env, "port must be within 0..65535");
    return env.Undefined();
  }
  struct sockaddr_storage sa;
  socklen_t salen;
  int domain = ParseSockaddr(env, address, static_cast<uint16_t>(port), &sa, &salen);
  if (domain < 0) return env.Undefined();
  int fd = OpenSocketIn(env, ns, domain, SOCK_STREAM, 0);
  if (fd < 0) return env.Undefined();
  bool ok = SetInt(env, fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR") &&
            (domain == AF_INET ? SetInt(env, fd, IPPROTO_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT")
                               : SetInt(env, fd, IPPROTO_IPV6, IPV6_TRANSPARENT, 1, "IPV6_TRANSPARENT"));
  // A `::` listener is dual-stack only with IPV6_V6ONLY off, whose default is the
  // net.ipv6.bindv6only sysctl (RFC 3493 §5.3): set it, so tproxy finds it for IPv4 too.
  if (ok && domain == AF_INET6 &&
      IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<struct sockaddr_in6*>(&sa)->sin6_addr)) {
    ok = SetInt(env, fd, IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY");
  }
  if (ok && bind(fd, reinterpret_cast<struct sockaddr*>(&sa), salen) != 0) {
    ThrowErrno(env, errno, "bind " + address + " port " + std::to_string(port));
    ok = false;
  }
  if (!ok) {
    close(fd);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// getTransparent(fd): IP_TRANSPARENT of an IPv4 socket, IPV6_TRANSPARENT of an IPv6 one.
static Napi::Value GetTransparent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  int domain = SocketDomain(env, fd);
  if (domain < 0) return env.Undefined();
  int value = 0;
  socklen_t len = sizeof value;
  bool v4 = domain == AF_INET;
  if (getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TRANSPARENT : IPV6_TRANSPARENT, &value, &len) != 0) {
    ThrowErrno(env, errno, v4 ? "getsockopt IP_TRANSPARENT" : "getsockopt IPV6_TRANSPARENT");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, value != 0);
}

// transparentSocket(nsFd, address, hasMark, mark): a TCP socket for a transparent proxy's
// upstream connection, made inside the network namespace `nsFd` (-1: the caller's), whose
// packets leave with `address` as their source although the namespace need not have it:
// IP_TRANSPARENT (IPV6_TRANSPARENT for an IPv6 address; CAP_NET_ADMIN or CAP_NET_RAW),
// IP_BIND_ADDRESS_NO_PORT (Linux 4.2: bind(2) takes the address only, connect(2) picks the
// port knowing the whole 4-tuple, so one source address serves many destinations),
// SO_MARK when `hasMark` (CAP_NET_ADMIN), then bound to address port 0. Not connected:
// the caller's (libuv's uv_tcp_connect). Close-on-exec; closed on failure.
static Napi::Value TransparentSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t ns;
  std::string address;
  uint32_t mark;
  if (!ArgInt(info, 0, "nsFd", &ns) || !ArgString(info, 1, "address", &address) || !ArgUint(info, 3, "mark", &mark)) {
    return env.Undefined();
  }
  bool hasMark = info[2].ToBoolean().Value();
  struct sockaddr_storage sa;
  socklen_t salen;
  int domain = ParseSockaddr(env, address, 0, &sa, &salen);
  if (domain < 0) return env.Undefined();
  int fd = OpenSocketIn(env, ns, domain, SOCK_STREAM, 0);
  if (fd < 0) return env.Undefined();
  bool ok = (domain == AF_INET ? SetInt(env, fd, IPPROTO_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT")
                               : SetInt(env, fd, IPPROTO_IPV6, IPV6_TRANSPARENT, 1, "IPV6_TRANSPARENT")) &&
            // An IPPROTO_IP option, for IPv6 sockets too (net/ipv6/af_inet6.c honours it).
            SetInt(env, fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1, "IP_BIND_ADDRESS_NO_PORT") &&
            (!hasMark || SetInt(env, fd, SOL_SOCKET, SO_MARK, static_cast<int>(mark), "SO_MARK"));
  if (ok && bind(fd, reinterpret_cast<struct sockaddr*>(&sa), salen) != 0) {
    ThrowErrno(env, errno, "bind " + address);
    ok = false;
  }
  if (!ok) {
    close(fd);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// setMark(fd, mark): SO_MARK, the mark (fwmark) of every packet the socket sends, which
// policy routing (`ip rule fwmark`) and nftables (`meta mark`) see. Needs CAP_NET_ADMIN.
static Napi::Value SetMark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  uint32_t mark;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgUint(info, 1, "mark", &mark)) return env.Undefined();
  SetInt(env, fd, SOL_SOCKET, SO_MARK, static_cast<int>(mark), "SO_MARK");
  return env.Undefined();
}

// getMark(fd): SO_MARK read back (Linux 4.12 for getsockopt), as an unsigned 32-bit number.
static Napi::Value GetMark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  uint32_t value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_MARK, &value, &len) != 0) {
    ThrowErrno(env, errno, "getsockopt SO_MARK");
    return env.Undefined();
  }
  return Napi::Number::New(env, value);
}

// attachSocketFilter(fd, program): SO_ATTACH_FILTER (socket(7), Documentation/networking/
// filter.rst) with a classic BPF program given as struct sock_filter records (8 bytes
// each, host byte order: u16 code, u8 jt, u8 jf, u32 k), which the caller built and
// checked. The kernel copies and checks the program again (EINVAL for one it refuses,
// ENOMEM past net.core.optmem_max) and replaces any filter the socket had.
static Napi::Value AttachSocketFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  uint8_t* data;
  size_t length;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgBytes(info, 1, "program", &data, &length)) return env.Undefined();
  if (length == 0 || length % sizeof(struct sock_filter) != 0 || length / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    ThrowArg(env, "program must be 1.." + std::to_string(BPF_MAXINSNS) + " sock_filter records of 8 bytes");
    return env.Undefined();
  }
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(length / sizeof(struct sock_filter));
  prog.filter = reinterpret_cast<struct sock_filter*>(data);
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    ThrowErrno(env, errno, "setsockopt SO_ATTACH_FILTER");
  }
  return env.Undefined();
}

// detachSocketFilter(fd): SO_DETACH_FILTER; the kernel says ENOENT when there is none.
static Napi::Value DetachSocketFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  int unused = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused) != 0) {
    ThrowErrno(env, errno, "setsockopt SO_DETACH_FILTER");
  }
  return env.Undefined();
}

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("socketIn", Napi::Function::New(env, SocketIn, "socketIn"));
  exports.Set("setTcpMd5", Napi::Function::New(env, SetTcpMd5, "setTcpMd5"));
  exports.Set("setTtl", Napi::Function::New(env, SetTtl, "setTtl"));
  exports.Set("setMinTtl", Napi::Function::New(env, SetMinTtl, "setMinTtl"));
  exports.Set("getTtl", Napi::Function::New(env, GetTtl, "getTtl"));
  exports.Set("transparentListener", Napi::Function::New(env, TransparentListener, "transparentListener"));
  exports.Set("getTransparent", Napi::Function::New(env, GetTransparent, "getTransparent"));
  exports.Set("transparentSocket", Napi::Function::New(env, TransparentSocket, "transparentSocket"));
  exports.Set("setMark", Napi::Function::New(env, SetMark, "setMark"));
  exports.Set("getMark", Napi::Function::New(env, GetMark, "getMark"));
  exports.Set("attachSocketFilter", Napi::Function::New(env, AttachSocketFilter, "attachSocketFilter"));
  exports.Set("detachSocketFilter", Napi::Function::New(env, DetachSocketFilter, "detachSocketFilter"));
}

}  // namespace twill
