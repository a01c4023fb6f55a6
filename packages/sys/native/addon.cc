#include "common.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cmath>

namespace twill {

void ThrowErrno(Napi::Env env, int err, const std::string& syscall) {
  const char* name = uv_err_name(-err);
  Napi::Error error = Napi::Error::New(env, syscall + ": " + name + " (" + uv_strerror(-err) + ")");
  error.Set("code", Napi::String::New(env, name));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
}

void ThrowArg(Napi::Env env, const std::string& what) {
  Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
}

bool ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t* out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    ThrowArg(info.Env(), std::string(name) + " must be a number");
    return false;
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  // Range and integrality first: casting NaN or a double outside int32_t is undefined behaviour.
  if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != std::trunc(v)) {
    ThrowArg(info.Env(), std::string(name) + " must be a 32-bit integer");
    return false;
  }
  *out = static_cast<int32_t>(v);
  return true;
}

bool ArgUint(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t* out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    ThrowArg(info.Env(), std::string(name) + " must be a number");
    return false;
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  // As ArgInt: NaN fails both comparisons, and nothing outside 0..2^32-1 reaches the cast.
  if (!(v >= 0.0 && v <= 4294967295.0) || v != std::trunc(v)) {
    ThrowArg(info.Env(), std::string(name) + " must be an unsigned 32-bit integer");
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) {
    ThrowArg(info.Env(), std::string(name) + " must be a string");
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    ThrowArg(info.Env(), std::string(name) + " must not contain NUL");
    return false;
  }
  return true;
}

bool ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name, uint8_t** data,
              size_t* length) {
  if (info.Length() > i && info[i].IsTypedArray()) {
    Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
    // ArrayBuffer().Data() moves a small on-heap buffer off the heap first, so the
    // address stays valid for as long as the buffer lives.
    *data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    *length = ta.ByteLength();
    return true;
  }
  if (info.Length() > i && info[i].IsDataView()) {
    Napi::DataView dv = info[i].As<Napi::DataView>();
    *data = static_cast<uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
    *length = dv.ByteLength();
    return true;
  }
  ThrowArg(info.Env(), std::string(name) + " must be a TypedArray or DataView");
  return false;
}

int SaveThreadNetns(Napi::Env env) {
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowErrno(env, errno, "open /proc/thread-self/ns/net");
  return fd;
}

int EnterThreadNetns(Napi::Env env, int ns) {
  int saved = SaveThreadNetns(env);
  if (saved < 0) return -1;
  if (setns(ns, CLONE_NEWNET) != 0) {
    int err = errno;
    close(saved);
    ThrowErrno(env, err, "setns");
    return -1;
  }
  return saved;
}

void RestoreThreadNetns(int saved) {
  if (setns(saved, CLONE_NEWNET) != 0) {
    napi_fatal_error("@twill/sys", NAPI_AUTO_LENGTH,
                     "setns back to the original network namespace failed", NAPI_AUTO_LENGTH);
  }
  close(saved);
}

static Napi::Value AddressOf(const Napi::CallbackInfo& info) {
  uint8_t* data;
  size_t length;
  if (!ArgBytes(info, 0, "view", &data, &length)) return info.Env().Undefined();
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data)));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("addressOf", Napi::Function::New(env, AddressOf, "addressOf"));
  InitBpf(env, exports);
  InitNetns(env, exports);
  InitSocket(env, exports);
  InitNetlinkSocket(env, exports);
  InitMmap(env, exports);
  InitPoll(env, exports);
  return exports;
}

}  // namespace twill

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return twill::Init(env, exports);
}

NODE_API_MODULE(twill_sys, InitAddon)
