// The exec side of bench/ipam-plugin.bench.ts: calls a CNI IPAM plugin the way a
// container runtime does, through libcni's invoke.RawExec (Go's os/exec, as containerd
// and CRI-O exec plugins), from `callers` goroutines, each doing ADD then DEL with a
// unique container ID until `total` ADDs are done. Built by the bench from Debian's
// libcni sources in GOPATH mode (no module download), as scripts/setup.sh builds cnitool.
//
//	ipam-plugin-exec <plugin> <callers> <total> <container ID prefix>
//
// The network configuration is read from stdin; the plugin's environment is this
// process's plus the CNI_* variables of each call. Prints one JSON line: allocations
// per second, and this process's and its children's CPU time per call in milliseconds.
// A failed call prints the plugin's error on stderr and exits 1.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
)

func cpuMs(who int) float64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(who, &u); err != nil {
		return 0
	}
	return float64(u.Utime.Nano()+u.Stime.Nano()) / 1e6
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: ipam-plugin-exec <plugin> <callers> <total> <container ID prefix> < config.json")
		os.Exit(2)
	}
	plugin, prefix := os.Args[1], os.Args[4]
	callers, err1 := strconv.Atoi(os.Args[2])
	total, err2 := strconv.Atoi(os.Args[3])
	config, err3 := io.ReadAll(os.Stdin)
	if err1 != nil || err2 != nil || err3 != nil || callers < 1 || total < 1 {
		fmt.Fprintln(os.Stderr, "ipam-plugin-exec: bad arguments or config")
		os.Exit(2)
	}
	base := os.Environ()
	raw := &invoke.RawExec{Stderr: os.Stderr}
	call := func(command, id string) error {
		env := append(append([]string{}, base...),
			"CNI_COMMAND="+command, "CNI_CONTAINERID="+id, "CNI_NETNS=/proc/self/ns/net", "CNI_IFNAME=eth0", "CNI_PATH=/usr/lib/cni")
		_, err := raw.ExecPlugin(context.Background(), plugin, config, env)
		if err != nil {
			return fmt.Errorf("%s %s: %w", command, id, err)
		}
		return nil
	}
	var left int64 = int64(total)
	var failure atomic.Value
	var wg sync.WaitGroup
	selfBefore, childrenBefore := cpuMs(syscall.RUSAGE_SELF), cpuMs(syscall.RUSAGE_CHILDREN)
	start := time.Now()
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for failure.Load() == nil {
				n := atomic.AddInt64(&left, -1)
				if n < 0 {
					return
				}
				id := prefix + strconv.FormatInt(n, 10)
				if err := call("ADD", id); err != nil {
					failure.Store(err)
					return
				}
				if err := call("DEL", id); err != nil {
					failure.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if err, ok := failure.Load().(error); ok {
		fmt.Fprintln(os.Stderr, "ipam-plugin-exec:", err)
		os.Exit(1)
	}
	calls := float64(2 * total)
	out, _ := json.Marshal(map[string]float64{
		"perSecond":           float64(total) / elapsed,
		"runtimeCpuMsPerCall": (cpuMs(syscall.RUSAGE_SELF) - selfBefore) / calls,
		"pluginCpuMsPerCall":  (cpuMs(syscall.RUSAGE_CHILDREN) - childrenBefore) / calls,
	})
	fmt.Println(string(out))
}
