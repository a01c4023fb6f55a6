#include "common.h"

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace twill {

// bpf(cmd, attr): the raw bpf(2) call. `attr` is the attribute union the command
// expects, already encoded; the kernel may write results back into it (map and
// program ids, the verifier log's true size). Returns the call's non-negative result.
static Napi::Value Bpf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t cmd;
  uint8_t* attr;
  size_t size;
  if (!ArgInt(info, 0, "cmd", &cmd) || !ArgBytes(info, 1, "attr", &attr, &size)) {
    return env.Undefined();
  }
  long rc = syscall(__NR_bpf, cmd, attr, static_cast<unsigned int>(size));
  if (rc < 0) {
    ThrowErrno(env, errno, "bpf");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(rc));
}

void InitBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("bpf", Napi::Function::New(env, Bpf, "bpf"));
}

}  // namespace twill
