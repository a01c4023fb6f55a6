// The flows benchmark's packet source: a small C program, compiled at bench time with
// the system's cc, that sends IPv4 UDP datagrams through a raw socket (IP_HDRINCL) with
// sendmmsg, 64 a call, each a new 5-tuple (the source port cycles over 1024-65535, then
// the destination port steps), at a given rate. A raw socket is the cheap way to choose
// the source port per packet; a UDP socket would need one socket per port.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SOURCE = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64
#define PAYLOAD 16
#define PORTS 64512

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* usage: sender SRC DST PPS SECONDS FIRST DPORT_BASE DPORT_COUNT
   PPS 0: as fast as it can. FIRST: the index of the first tuple (runs continue where
   the last stopped, so no tuple repeats while the dataplane remembers it). Prints the
   datagrams sent. */
int main(int argc, char **argv) {
  if (argc != 8) { fprintf(stderr, "usage: %s SRC DST PPS SECONDS FIRST DPORT_BASE DPORT_COUNT\n", argv[0]); return 2; }
  struct in_addr src, dst;
  if (!inet_aton(argv[1], &src) || !inet_aton(argv[2], &dst)) { fprintf(stderr, "bad address\n"); return 2; }
  double pps = atof(argv[3]), seconds = atof(argv[4]);
  uint64_t index = strtoull(argv[5], NULL, 10);
  unsigned base = atoi(argv[6]), count = atoi(argv[7]);
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) { perror("socket"); return 1; }
  static uint8_t packets[BATCH][20 + 8 + PAYLOAD];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = dst };
  memset(msgs, 0, sizeof(msgs));
  for (int i = 0; i < BATCH; i++) {
    uint8_t *p = packets[i];
    p[0] = 0x45; p[8] = 64; p[9] = IPPROTO_UDP;
    uint16_t total = htons(sizeof(packets[i])), udplen = htons(8 + PAYLOAD);
    memcpy(p + 2, &total, 2);
    memcpy(p + 12, &src, 4);
    memcpy(p + 16, &dst, 4);
    memcpy(p + 24, &udplen, 2); /* checksum 0: none (RFC 768) */
    iov[i].iov_base = p;
    iov[i].iov_len = sizeof(packets[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof(to);
  }
  double start = now(), end = start + seconds;
  uint64_t sent = 0;
  while (now() < end) {
    for (int i = 0; i < BATCH; i++) {
      uint64_t n = index + i;
      uint16_t sport = htons(1024 + n % PORTS), dport = htons(base + (n / PORTS) % count);
      memcpy(packets[i] + 20, &sport, 2);
      memcpy(packets[i] + 22, &dport, 2);
    }
    int done = sendmmsg(fd, msgs, BATCH, 0);
    if (done < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) continue;
      perror("sendmmsg");
      return 1;
    }
    index += done;
    sent += done;
    if (pps > 0) {
      double ahead = start + sent / pps - now();
      if (ahead > 0) {
        struct timespec t = { (time_t)ahead, (long)((ahead - (time_t)ahead) * 1e9) };
        nanosleep(&t, NULL);
      }
    }
  }
  printf("%llu\n", (unsigned long long)sent);
  return 0;
}
`;

/** The compiled sender; `remove` deletes it. */
export interface CompiledSender {
  readonly path: string;
  remove(): void;
}

/** Compiles the sender with `cc -O2`. @throws {Error} with cc's output when it fails. */
export function compileSender(): CompiledSender {
  const dir = mkdtempSync(join(tmpdir(), 'twill-flows-sender-'));
  writeFileSync(join(dir, 'sender.c'), SOURCE);
  execFileSync('cc', ['-O2', '-o', join(dir, 'sender'), join(dir, 'sender.c')], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { path: join(dir, 'sender'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
