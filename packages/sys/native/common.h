// Shared helpers for the @twill/sys addon. The addon holds no logic: each export is
// one Linux call (or the few calls that must happen together on one thread), and
// every failure becomes a JavaScript error carrying the errno name and the call.
#pragma once

#include <napi.h>
#include <cstdint>
#include <string>

namespace twill {

// Throws an Error whose `code` is the errno name (EPERM, ENOENT, ...), `errno` the
// number and `syscall` the failed call; the TypeScript side turns it into SysError.
void ThrowErrno(Napi::Env env, int err, const std::string& syscall);

// Throws a TypeError for a bad argument (`what` names it).
void ThrowArg(Napi::Env env, const std::string& what);

// Reads argument `i` as a non-negative int32 (file descriptors, commands).
bool ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t* out);
bool ArgUint(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t* out);
bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out);
// Reads argument `i` as a TypedArray or DataView and gives its bytes.
bool ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name, uint8_t** data,
              size_t* length);

// The calling thread's network namespace, saved so it can be restored.
// Returns -1 and throws on failure.
int SaveThreadNetns(Napi::Env env);
// Moves the calling thread into the network namespace `ns` and gives the one it left,
// for RestoreThreadNetns. Returns -1 and throws on failure (the thread has not moved).
int EnterThreadNetns(Napi::Env env, int ns);
// Moves the calling thread back to `saved` and closes it. A failure here would leave
// the JavaScript thread in a foreign namespace, so it is reported as a fatal error.
void RestoreThreadNetns(int saved);

void InitBpf(Napi::Env env, Napi::Object exports);
void InitNetns(Napi::Env env, Napi::Object exports);
void InitSocket(Napi::Env env, Napi::Object exports);
void InitNetlinkSocket(Napi::Env env, Napi::Object exports);
void InitMmap(Napi::Env env, Napi::Object exports);
void InitPoll(Napi::Env env, Napi::Object exports);

}  // namespace twill
