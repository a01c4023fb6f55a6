#!/usr/bin/env bash
# Installs what Twill's build and tests need. Idempotent, and silent when all is there.
#  - as root: the Debian packages the root tests and benchmarks run against;
#  - `npm ci` when node_modules is missing or older than the manifests and lockfile;
#  - the @twill/sys native addon when its build is missing;
#  - cnitool (a real libcni runtime, for cni-core's interop tests) when Go and
#    Debian's libcni sources are there and its build is missing or older than its source.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  iproute2 nftables iptables
  clang llvm libbpf-dev bpftool
  iperf3 bird2 frr gobgpd wrk nginx-light
  containernetworking-plugins chromium
  golang-go golang-github-appc-cni-dev
)

if [ "$(id -u)" -eq 0 ] && command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Daemons (bird, frr, nginx) must not start as services: tests and benchmarks start
    # their own inside network namespaces, and nginx must not take the host's port 80.
    # invoke-rc.d and deb-systemd-invoke ask /usr/sbin/policy-rc.d first (invoke-rc.d(8)); exit 101 denies every
    # start. Docker images ship one; on a host without it, one stands for this install only.
    policy_rc=/usr/sbin/policy-rc.d
    own_policy_rc=0
    if [ ! -e "$policy_rc" ]; then
      printf '#!/bin/sh\n# twill setup: no service starts while it installs packages\nexit 101\n' >"$policy_rc"
      chmod 755 "$policy_rc"
      own_policy_rc=1
    fi
    status=0
    apt-get install -y -qq "${missing[@]}" >/tmp/twill-setup-apt.log 2>&1 || status=$?
    if [ "$own_policy_rc" -eq 1 ]; then rm -f "$policy_rc"; fi
    if [ "$status" -ne 0 ]; then
      echo "setup: apt-get install failed; see /tmp/twill-setup-apt.log" >&2
      tail -20 /tmp/twill-setup-apt.log >&2
      exit 1
    fi
  fi
fi

# node_modules is current when it was installed from these exact manifests.
stamp=node_modules/.twill-setup-stamp
want="$(cat package.json package-lock.json packages/*/package.json apps/*/package.json | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --loglevel=error --no-audit --no-fund
  echo "$want" >"$stamp"
fi

if [ ! -f packages/sys/build/Release/twill_sys.node ] || [ ! -f packages/sys/build/Release/twill-forward ]; then
  echo "setup: building the @twill/sys addon"
  npm run --silent build:native -w @twill/sys >/dev/null
fi

# libcni from Debian's sources in GOPATH mode: no module download, no network.
cnitool=node_modules/.cache/twill/cnitool
cnitool_src=packages/cni-core/test/invoke/testdata/cnitool
if command -v go >/dev/null 2>&1 && [ -d /usr/share/gocode/src/github.com/containernetworking/cni/libcni ] &&
  { [ ! -x "$cnitool" ] || [ "$cnitool_src/main.go" -nt "$cnitool" ]; }; then
  echo "setup: building cnitool (libcni) for the interop tests"
  mkdir -p "$(dirname "$cnitool")"
  GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE="$PWD/node_modules/.cache/twill/go-build" \
    go build -o "$cnitool" "./$cnitool_src" >/tmp/twill-setup-cnitool.log 2>&1 || {
    echo "setup: building cnitool failed (interop tests will skip); see /tmp/twill-setup-cnitool.log" >&2
  }
fi
