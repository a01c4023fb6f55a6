#include "common.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace twill {

namespace {

// One mapping, owned by the ArrayBuffer that exposes it. `live` turns false when
// munmap() is called explicitly, so the finalizer never unmaps twice (the address may
// have been handed to a new mapping by then).
struct Mapping {
  void* addr;
  size_t length;
  bool live;
};

void FinalizeMapping(napi_env env, void* data, void* hint) {
  auto* m = static_cast<Mapping*>(hint);
  if (m->live) munmap(m->addr, m->length);
  delete m;
}

}  // namespace

// mmap(fd, length, offset, writable): maps `length` bytes of `fd` (a BPF ring buffer
// or array map) shared, read-only unless `writable`. The ArrayBuffer returned
// views the mapping; it is unmapped when the buffer is collected or by munmap().
static Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  uint32_t length, offset;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgUint(info, 1, "length", &length) ||
      !ArgUint(info, 2, "offset", &offset)) {
    return env.Undefined();
  }
  if (info.Length() < 4 || !info[3].IsBoolean()) {
    ThrowArg(env, "writable must be a boolean");
    return env.Undefined();
  }
  if (length == 0) {
    ThrowArg(env, "length must be positive");
    return env.Undefined();
  }
  int prot = PROT_READ | (info[3].As<Napi::Boolean>().Value() ? PROT_WRITE : 0);
  void* addr = mmap(nullptr, length, prot, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (addr == MAP_FAILED) {
    ThrowErrno(env, errno, "mmap");
    return env.Undefined();
  }
  auto* m = new Mapping{addr, length, true};
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, length, FinalizeMapping, m, &ab) != napi_ok) {
    munmap(addr, length);
    delete m;
    Napi::Error::New(env, "napi_create_external_arraybuffer failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object buffer(env, ab);
  // The Mapping is reachable from the buffer so munmap() can find it.
  napi_wrap(env, ab, m, nullptr, nullptr, nullptr);
  return buffer;
}

// munmap(buffer): unmaps a buffer made by mmap() now and detaches it, so any later
// access sees an empty buffer instead of unmapped memory.
static Napi::Value Munmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    ThrowArg(env, "buffer must be an ArrayBuffer returned by mmap()");
    return env.Undefined();
  }
  void* data = nullptr;
  if (napi_unwrap(env, info[0], &data) != napi_ok || data == nullptr) {
    ThrowArg(env, "buffer must be an ArrayBuffer returned by mmap()");
    return env.Undefined();
  }
  bool detached = false;
  napi_is_detached_arraybuffer(env, info[0], &detached);
  if (detached) return env.Undefined();  // unmapped already
  auto* m = static_cast<Mapping*>(data);
  int rc = munmap(m->addr, m->length);
  int err = errno;
  m->live = false;
  // Detaching may release the backing store and run FinalizeMapping, which frees m:
  // m is not touched after this line.
  napi_detach_arraybuffer(env, info[0]);
  if (rc != 0) ThrowErrno(env, err, "munmap");
  return env.Undefined();
}

void InitMmap(Napi::Env env, Napi::Object exports) {
  exports.Set("mmap", Napi::Function::New(env, Mmap, "mmap"));
  exports.Set("munmap", Napi::Function::New(env, Munmap, "munmap"));
}

}  // namespace twill
