// Readiness of a file descriptor on Node's own event loop (libuv `uv_poll_t`, which is
// epoll on Linux), for descriptors Node has no stream for: a BPF ring buffer map wakes
// its reader through poll(2) when records arrive. The callback runs on the JavaScript
// thread as a top-level callback (microtasks run after it), never blocking the loop.
#include "common.h"

#include <uv.h>

namespace twill {

namespace {

// One watched descriptor. Owned jointly by the uv handle and the JavaScript External
// that names it: freed when the handle has closed and the External is collected, so a
// late stop from JavaScript never reaches freed memory.
struct Watcher {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  bool started;         // the callback reference and async context exist
  bool stopped;         // uv_close() has been called
  bool env_alive;       // N-API may still be called when the handle has closed
  bool handle_closed;   // libuv is done with `poll`
  bool external_alive;  // JavaScript still holds the External
};

void MaybeDelete(Watcher* w) {
  if (w->handle_closed && !w->external_alive) delete w;
}

// Runs in a later loop phase than uv_close(), so never inside the watcher's own callback:
// the async context and the callback may be released here, not in Stop().
void OnClosed(uv_handle_t* handle) {
  auto* w = static_cast<Watcher*>(handle->data);
  if (w->started && w->env_alive) {
    napi_delete_reference(w->env, w->callback);
    napi_async_destroy(w->env, w->context);
  }
  w->handle_closed = true;
  MaybeDelete(w);
}

void CleanupHook(void* arg);

// Stops watching for good. `env_alive` is false during environment teardown, when
// no N-API call may be made.
void Stop(Watcher* w, bool env_alive) {
  if (w->stopped) return;
  w->stopped = true;
  w->env_alive = env_alive;
  uv_poll_stop(&w->poll);
  if (env_alive) napi_remove_env_cleanup_hook(w->env, CleanupHook, w);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
}

void CleanupHook(void* arg) { Stop(static_cast<Watcher*>(arg), false); }

void FinalizeExternal(napi_env env, void* data, void* hint) {
  auto* w = static_cast<Watcher*>(data);
  w->external_alive = false;
  MaybeDelete(w);
}

// Calls callback(status, events, code): status 0 or a negative errno, events the
// UV_READABLE/UV_WRITABLE/UV_DISCONNECT bits that are ready, code the errno name.
void OnPoll(uv_poll_t* handle, int status, int events) {
  auto* w = static_cast<Watcher*>(handle->data);
  if (w->stopped) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, recv, args[3], result;
  napi_get_reference_value(env, w->callback, &callback);
  napi_get_global(env, &recv);  // napi_make_callback needs an object as `this`
  napi_create_int32(env, status, &args[0]);
  napi_create_int32(env, events, &args[1]);
  if (status < 0) {
    napi_create_string_utf8(env, uv_err_name(status), NAPI_AUTO_LENGTH, &args[2]);
  } else {
    napi_get_undefined(env, &args[2]);
  }
  if (callback != nullptr &&
      napi_make_callback(env, w->context, recv, callback, 3, args, &result) == napi_pending_exception) {
    // A throwing callback is an uncaught exception, as with any other I/O callback.
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
}

Watcher* ArgWatcher(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    ThrowArg(info.Env(), "watcher must be a handle returned by watchFd()");
    return nullptr;
  }
  return info[0].As<Napi::External<Watcher>>().Data();
}

}  // namespace

// watchFd(fd, events, callback): starts watching `fd` for the UV_READABLE (1),
// UV_WRITABLE (2) and UV_DISCONNECT (4) bits of `events`; gives an opaque handle.
// libuv puts the descriptor in non-blocking mode, and refuses a descriptor that
// another handle of this loop already watches (EEXIST).
static Napi::Value WatchFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, events;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgInt(info, 1, "events", &events)) return env.Undefined();
  if (info.Length() < 3 || !info[2].IsFunction()) {
    ThrowArg(env, "callback must be a function");
    return env.Undefined();
  }
  uv_loop_t* loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    Napi::Error::New(env, "no event loop").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* w = new Watcher{};
  w->env = env;
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc != 0) {
    delete w;  // uv_poll_init registers nothing on failure
    ThrowErrno(env, -rc, "uv_poll_init");
    return env.Undefined();
  }
  w->poll.data = w;
  rc = uv_poll_start(&w->poll, events, OnPoll);
  if (rc != 0) {
    w->stopped = true;  // no External: OnClosed frees it
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
    ThrowErrno(env, -rc, "uv_poll_start");
    return env.Undefined();
  }
  napi_create_reference(env, info[2], 1, &w->callback);
  napi_value name;
  napi_create_string_utf8(env, "TwillFdWatch", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &w->context);
  w->started = true;
  w->external_alive = true;
  napi_add_env_cleanup_hook(env, CleanupHook, w);
  return Napi::External<Watcher>::New(env, w, [](Napi::Env e, Watcher* data) {
    FinalizeExternal(e, data, nullptr);
  });
}

// unwatchFd(handle): stops watching; the callback is not called again. Twice is fine.
static Napi::Value UnwatchFd(const Napi::CallbackInfo& info) {
  Watcher* w = ArgWatcher(info);
  if (w != nullptr) Stop(w, true);
  return info.Env().Undefined();
}

// refFdWatch(handle, ref): whether the watcher keeps the process alive (it does at first).
static Napi::Value RefFdWatch(const Napi::CallbackInfo& info) {
  Watcher* w = ArgWatcher(info);
  if (w == nullptr) return info.Env().Undefined();
  if (info.Length() < 2 || !info[1].IsBoolean()) {
    ThrowArg(info.Env(), "ref must be a boolean");
    return info.Env().Undefined();
  }
  if (w->stopped) return info.Env().Undefined();
  auto* handle = reinterpret_cast<uv_handle_t*>(&w->poll);
  if (info[1].As<Napi::Boolean>().Value()) {
    uv_ref(handle);
  } else {
    uv_unref(handle);
  }
  return info.Env().Undefined();
}

void InitPoll(Napi::Env env, Napi::Object exports) {
  exports.Set("watchFd", Napi::Function::New(env, WatchFd, "watchFd"));
  exports.Set("unwatchFd", Napi::Function::New(env, UnwatchFd, "unwatchFd"));
  exports.Set("refFdWatch", Napi::Function::New(env, RefFdWatch, "refFdWatch"));
}

}  // namespace twill
