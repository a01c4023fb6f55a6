#include "common.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace twill {

// openNetns(path): an O_RDONLY descriptor of a network namespace file (a bind mount
// under /run/netns, or /proc/PID/ns/net). Anything that is not a network namespace
// is refused with EINVAL, so a wrong path cannot later be passed to setns.
static Napi::Value OpenNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, "path", &path)) return env.Undefined();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(env, errno, "open " + path);
    return env.Undefined();
  }
  // NS_GET_NSTYPE: Linux 4.11.
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    int err = type < 0 ? (errno == ENOTTY ? EINVAL : errno) : EINVAL;
    close(fd);
    ThrowErrno(env, err, "ioctl NS_GET_NSTYPE " + path);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// Makes `dir` a shared mount point, as `ip netns add` does, so that namespaces
// mounted under it are seen from other mount namespaces too.
static int MakeSharedMount(const std::string& dir) {
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return 0;
  if (errno != EINVAL) return errno;
  // Not a mount point yet: bind it onto itself, then try again.
  if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) return errno;
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) return errno;
  return 0;
}

// createNetns(dir, path): a new, empty network namespace kept alive by a bind mount
// on `path` (a new file in `dir`), which is what `ip netns add NAME` does. The
// calling thread enters the new namespace only to mount it and is always moved back.
static Napi::Value CreateNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir, path;
  if (!ArgString(info, 0, "dir", &dir) || !ArgString(info, 1, "path", &path)) {
    return env.Undefined();
  }
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    ThrowErrno(env, errno, "mkdir " + dir);
    return env.Undefined();
  }
  if (int err = MakeSharedMount(dir)) {
    ThrowErrno(env, err, "mount --make-shared " + dir);
    return env.Undefined();
  }
  int file = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (file < 0) {
    ThrowErrno(env, errno, "create " + path);
    return env.Undefined();
  }
  close(file);

  int saved = SaveThreadNetns(env);
  if (saved < 0) {
    unlink(path.c_str());
    return env.Undefined();
  }
  if (unshare(CLONE_NEWNET) != 0) {
    int err = errno;
    close(saved);
    unlink(path.c_str());
    ThrowErrno(env, err, "unshare CLONE_NEWNET");
    return env.Undefined();
  }
  int err = 0;
  if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) err = errno;
  RestoreThreadNetns(saved);
  if (err != 0) {
    unlink(path.c_str());
    ThrowErrno(env, err, "mount --bind /proc/thread-self/ns/net " + path);
  }
  return env.Undefined();
}

// deleteNetns(path): detaches the bind mount and removes the file, as `ip netns del`
// does. The namespace itself goes away when nothing else holds it.
static Napi::Value DeleteNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, "path", &path)) return env.Undefined();
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
    ThrowErrno(env, errno, "umount " + path);
    return env.Undefined();
  }
  if (unlink(path.c_str()) != 0) {
    ThrowErrno(env, errno, "unlink " + path);
  }
  return env.Undefined();
}

// runInNetns(nsFd, fn): calls fn with the calling thread inside the namespace and
// moves the thread back afterwards, whether fn returns or throws. Only work done
// synchronously inside fn happens in the namespace (a socket created there stays in it).
static Napi::Value RunInNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t ns;
  if (!ArgInt(info, 0, "nsFd", &ns)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsFunction()) {
    ThrowArg(env, "fn must be a function");
    return env.Undefined();
  }
  int saved = EnterThreadNetns(env, ns);
  if (saved < 0) return env.Undefined();
  napi_value result = nullptr;
  napi_status status = napi_call_function(env, env.Undefined(), info[1], 0, nullptr, &result);
  RestoreThreadNetns(saved);
  // On napi_pending_exception the JavaScript exception propagates as it is.
  if (status != napi_ok) return env.Undefined();
  return Napi::Value(env, result);
}

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("openNetns", Napi::Function::New(env, OpenNetns, "openNetns"));
  exports.Set("createNetns", Napi::Function::New(env, CreateNetns, "createNetns"));
  exports.Set("deleteNetns", Napi::Function::New(env, DeleteNetns, "deleteNetns"));
  exports.Set("runInNetns", Napi::Function::New(env, RunInNetns, "runInNetns"));
}

}  // namespace twill
