// cnitool for Twill's interop tests: drives a network configuration list through a real
// libcni (Debian's golang-github-appc-cni-dev), so the tests can check that twill's
// CniRuntime and libcni read each other's result cache. Debian ships libcni without
// upstream's cnitool command, so this is a small stand-in with the same command line:
//
//	cnitool add|check|del <network> <netns path>
//
// Environment: NETCONFPATH (folder of .conflist files), CNI_PATH, CNI_IFNAME (default
// eth0), CNI_ARGS (K=V;K2=V2), CAP_ARGS (JSON), as upstream's cnitool; and, for tests,
// CNI_CACHE_DIR (libcni's cache folder, default /var/lib/cni) and CNI_CONTAINERID
// (default: derived from the netns path). ADD prints the result; a failure prints the
// error on stderr and exits 1.
//
// Build (no network): GOPATH=/usr/share/gocode GO111MODULE=off go build -o cnitool .
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func pairs(text string) ([][2]string, error) {
	var out [][2]string
	if text == "" {
		return out, nil
	}
	for _, pair := range strings.Split(text, ";") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("CNI_ARGS: bad pair %q", pair)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func envOr(name, fallback string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return fallback
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: cnitool add|check|del <network> <netns path>")
		os.Exit(2)
	}
	command, name := os.Args[1], os.Args[2]
	netns, err := filepath.Abs(os.Args[3])
	if err != nil {
		fail(err)
	}
	list, err := libcni.LoadConfList(envOr("NETCONFPATH", "/etc/cni/net.d"), name)
	if err != nil {
		fail(err)
	}
	args, err := pairs(os.Getenv("CNI_ARGS"))
	if err != nil {
		fail(err)
	}
	var capabilityArgs map[string]interface{}
	if text := os.Getenv("CAP_ARGS"); text != "" {
		if err := json.Unmarshal([]byte(text), &capabilityArgs); err != nil {
			fail(fmt.Errorf("CAP_ARGS: %w", err))
		}
	}
	sum := sha256.Sum256([]byte(netns))
	rt := &libcni.RuntimeConf{
		ContainerID:    envOr("CNI_CONTAINERID", "cnitool-"+hex.EncodeToString(sum[:10])),
		NetNS:          netns,
		IfName:         envOr("CNI_IFNAME", "eth0"),
		Args:           args,
		CapabilityArgs: capabilityArgs,
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), envOr("CNI_CACHE_DIR", "/var/lib/cni"), nil)
	ctx := context.Background()
	switch command {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		if err := result.Print(); err != nil {
			fail(err)
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", command)
		os.Exit(2)
	}
}
