// twill-forward: the file a container runtime execs as a CNI plugin when a warm Twill
// process serves that plugin on a unix socket. It holds no CNI logic: it hands the
// plugin name, the CNI_* environment plus PATH and the stdin bytes to the socket, then
// writes the answer's stdout and stderr and exits with the answer's exit code. When
// nothing listens there it execs the standalone plugin instead. See README.md
// ("Forwarder") for the rules and the frame format; the TypeScript codec is
// @twill/cni-core's serve/frame.ts.
//
// Frames (every integer an unsigned 32-bit big-endian number; str and bytes are a
// u32 length followed by that many bytes):
//   request:  "TWQ1" u32 bodyLength | str plugin, u32 count, count x str "NAME=value", bytes stdin
//   response: "TWR1" u32 bodyLength | u32 exitCode, bytes stdout, bytes stderr
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_SOCKET "/run/twill/agent.sock"
#define STANDALONE_SUFFIX ".standalone"
// One byte over the plugins' 1 MiB stdin cap: the server's runPlugin reports an
// oversized config (code 5), the forwarder only stops reading.
#define MAX_STDIN (1024 * 1024 + 1)
#define MAX_ANSWER (8 * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS 120000

struct buf {
  unsigned char *data;
  size_t len, cap;
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Waits until `fd` is ready for `events` or the deadline passes: 1 ready, 0 timed out,
// -1 failed (errno set).
static int wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return 0;
    struct pollfd p = {.fd = fd, .events = events, .revents = 0};
    int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
    if (n > 0) return 1;
    if (n < 0 && errno != EINTR) return -1;
  }
}

static int reserve(struct buf *b, size_t extra) {
  if (b->len + extra <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra) cap *= 2;
  unsigned char *data = realloc(b->data, cap);
  if (!data) return -1;
  b->data = data;
  b->cap = cap;
  return 0;
}

static void set_u32(unsigned char *at, uint32_t v) {
  at[0] = (unsigned char)(v >> 24);
  at[1] = (unsigned char)(v >> 16);
  at[2] = (unsigned char)(v >> 8);
  at[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *at) {
  return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | (uint32_t)at[3];
}

static int put_u32(struct buf *b, uint32_t v) {
  if (reserve(b, 4)) return -1;
  set_u32(b->data + b->len, v);
  b->len += 4;
  return 0;
}

static int put_bytes(struct buf *b, const void *data, size_t n) {
  if (put_u32(b, (uint32_t)n) || reserve(b, n)) return -1;
  if (n) memcpy(b->data + b->len, data, n);
  b->len += n;
  return 0;
}

static int write_all(int fd, const unsigned char *data, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    data += w;
    n -= (size_t)w;
  }
  return 0;
}

// The CNI error of a request the server accepted but did not answer: code 11 ("try
// again later", SPEC.md §"Error"), never a second run of the request. `details` is
// one of this file's own texts or strerror's, neither of which holds a quote.
static void fail_after_accept(const char *what, int err) {
  char out[512];
  int n = snprintf(out, sizeof out,
                   "{\"cniVersion\": \"1.1.0\", \"code\": 11, \"msg\": \"forwarding the request to the "
                   "plugin server failed\", \"details\": \"%s%s%s\"}\n",
                   what, err ? ": " : "", err ? strerror(err) : "");
  if (n > 0) {
    write_all(1, (const unsigned char *)out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
  }
  fprintf(stderr, "twill-forward: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
  exit(1);
}

// The answer when even the fallback cannot run: the plugin is not installed right.
static void fail_standalone(const char *path, int err) {
  printf("{\"cniVersion\": \"1.1.0\", \"code\": 5, \"msg\": \"no plugin server and no standalone "
         "plugin\", \"details\": \"cannot exec %s: %s\"}\n", path, strerror(err));
  exit(1);
}

// The plugin's own path: argv[0] as the runtime gave it (runtimes exec by absolute
// path), else the executable itself.
static void own_path(const char *argv0, char *out, size_t size) {
  if (argv0 && strchr(argv0, '/')) {
    snprintf(out, size, "%s", argv0);
    return;
  }
  ssize_t n = readlink("/proc/self/exe", out, size - 1);
  out[n > 0 ? n : 0] = '\0';
}

// No server: exec the standalone plugin with this process's argv, environment and
// untouched stdin. It is $TWILL_STANDALONE when set, otherwise "<own path>.standalone".
static void exec_standalone(char **argv, const char *self) {
  char path[PATH_MAX + sizeof STANDALONE_SUFFIX];
  const char *chosen = getenv("TWILL_STANDALONE");
  if (chosen && *chosen) {
    snprintf(path, sizeof path, "%s", chosen);
  } else {
    snprintf(path, sizeof path, "%s" STANDALONE_SUFFIX, self);
  }
  execv(path, argv);
  fail_standalone(path, errno);
}

// Reads stdin (at most MAX_STDIN bytes) before the deadline; 0 or -1 with errno set.
static int read_stdin(struct buf *in, int64_t deadline) {
  while (in->len < MAX_STDIN) {
    int ready = wait_fd(0, POLLIN, deadline);
    if (ready == 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    if (ready < 0) return errno == EBADF ? 0 : -1;
    if (reserve(in, 65536)) return -1;
    size_t want = in->cap - in->len;
    if (want > MAX_STDIN - in->len) want = MAX_STDIN - in->len;
    ssize_t n = read(0, in->data + in->len, want);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return errno == EBADF ? 0 : -1;
    if (n == 0) return 0;
    in->len += (size_t)n;
  }
  return 0;
}

static int build_request(struct buf *req, const char *plugin, const struct buf *in) {
  uint32_t count = 0;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "CNI_", 4) == 0 || strncmp(*e, "PATH=", 5) == 0) count++;
  }
  if (reserve(req, 8)) return -1;
  memcpy(req->data, "TWQ1", 4);
  req->len = 8;
  if (put_bytes(req, plugin, strlen(plugin)) || put_u32(req, count)) return -1;
  for (char **e = environ; *e; e++) {
    if ((strncmp(*e, "CNI_", 4) == 0 || strncmp(*e, "PATH=", 5) == 0) && put_bytes(req, *e, strlen(*e))) {
      return -1;
    }
  }
  if (put_bytes(req, in->data, in->len)) return -1;
  set_u32(req->data + 4, (uint32_t)(req->len - 8));
  return 0;
}

static void send_all(int fd, const struct buf *req, int64_t deadline) {
  size_t off = 0;
  while (off < req->len) {
    int ready = wait_fd(fd, POLLOUT, deadline);
    if (ready == 0) fail_after_accept("timed out sending the request", 0);
    if (ready < 0) fail_after_accept("poll", errno);
    ssize_t n = send(fd, req->data + off, req->len - off, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) fail_after_accept("sending the request", errno);
    off += (size_t)n;
  }
}

static void recv_exact(int fd, unsigned char *into, size_t n, int64_t deadline) {
  size_t off = 0;
  while (off < n) {
    int ready = wait_fd(fd, POLLIN, deadline);
    if (ready == 0) fail_after_accept("timed out waiting for the answer", 0);
    if (ready < 0) fail_after_accept("poll", errno);
    ssize_t r = recv(fd, into + off, n - off, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) fail_after_accept("reading the answer", errno);
    if (r == 0) fail_after_accept("the server closed the connection before answering", 0);
    off += (size_t)r;
  }
}

// Reads one response frame, writes its stdout and stderr, and exits with its code.
static void relay_answer(int fd, int64_t deadline) {
  unsigned char head[8];
  recv_exact(fd, head, sizeof head, deadline);
  uint32_t len = get_u32(head + 4);
  if (memcmp(head, "TWR1", 4) != 0 || len < 12 || len > MAX_ANSWER) {
    fail_after_accept("the answer is not a response frame", 0);
  }
  unsigned char *body = malloc(len);
  if (!body) fail_after_accept("out of memory", ENOMEM);
  recv_exact(fd, body, len, deadline);
  uint32_t code = get_u32(body);
  uint32_t out_len = get_u32(body + 4);
  if (out_len > len - 12) fail_after_accept("the answer's stdout overruns its frame", 0);
  uint32_t err_len = get_u32(body + 8 + out_len);
  if (err_len != len - 12 - out_len || code > 255) fail_after_accept("the answer's frame is inconsistent", 0);
  write_all(1, body + 8, out_len);
  write_all(2, body + 12 + out_len, err_len);
  exit((int)code);
}

int main(int argc, char **argv) {
  char self[PATH_MAX];
  own_path(argc > 0 ? argv[0] : NULL, self, sizeof self);
  const char *slash = strrchr(self, '/');
  const char *plugin = slash ? slash + 1 : self;

  const char *socket_path = getenv("TWILL_AGENT_SOCKET");
  if (!socket_path || !*socket_path) socket_path = DEFAULT_SOCKET;
  const char *timeout_text = getenv("TWILL_FORWARD_TIMEOUT_MS");
  long timeout = timeout_text && *timeout_text ? strtol(timeout_text, NULL, 10) : DEFAULT_TIMEOUT_MS;
  if (timeout <= 0) timeout = DEFAULT_TIMEOUT_MS;

  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(socket_path) >= sizeof addr.sun_path) {
    printf("{\"cniVersion\": \"1.1.0\", \"code\": 4, \"msg\": \"TWILL_AGENT_SOCKET is longer than %zu bytes\"}\n",
           sizeof addr.sun_path - 1);
    return 1;
  }
  strcpy(addr.sun_path, socket_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_after_accept("socket", errno);
  // Bounds a connect that waits on a full backlog (unix sockets honour SO_SNDTIMEO).
  struct timeval tv = {.tv_sec = timeout / 1000, .tv_usec = (timeout % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int err = errno;
    // Nothing there, or a stale socket nobody listens on: nothing was sent, so the
    // standalone plugin can do the whole request.
    if (err == ENOENT || err == ECONNREFUSED) {
      close(fd);
      exec_standalone(argv, self);
    }
    fail_after_accept("connect", err);
  }

  int64_t deadline = now_ms() + timeout;
  struct buf in = {0}, req = {0};
  if (read_stdin(&in, deadline) != 0) fail_after_accept("reading stdin", errno);
  if (build_request(&req, plugin, &in) != 0) fail_after_accept("out of memory", ENOMEM);
  free(in.data);
  send_all(fd, &req, deadline);
  relay_answer(fd, deadline);
  return 1;
}
