#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace twill {

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
  int saved = -1;
  if (ns >= 0) {
    saved = SaveThreadNetns(env);
    if (saved < 0) return env.Undefined();
    if (setns(ns, CLONE_NEWNET) != 0) {
      int err = errno;
      close(saved);
      ThrowErrno(env, err, "setns");
      return env.Undefined();
    }
  }
  int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
  int err = errno;
  if (saved >= 0) RestoreThreadNetns(saved);
  if (fd < 0) {
    ThrowErrno(env, err, "socket");
    return env.Undefined();
  }
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
  uint32_t full;
  if (address.find(':') == std::string::npos) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(&sig.tcpm_addr);
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, address.c_str(), &sin->sin_addr) != 1) {
      ThrowArg(env, "address is not an IPv4 or IPv6 address: " + address);
      return env.Undefined();
    }
    full = 32;
  } else {
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&sig.tcpm_addr);
    sin6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr) != 1) {
      ThrowArg(env, "address is not an IPv4 or IPv6 address: " + address);
      return env.Undefined();
    }
    full = 128;
  }
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

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("socketIn", Napi::Function::New(env, SocketIn, "socketIn"));
  exports.Set("setTcpMd5", Napi::Function::New(env, SetTcpMd5, "setTcpMd5"));
}

}  // namespace twill
