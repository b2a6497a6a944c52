package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Memory limit defaults. The Go runtime's soft memory limit
// (runtime/debug.SetMemoryLimit) makes the collector work harder as the
// heap nears it instead of letting a burst of frames grow the process
// until the kernel kills it, which would drop every family's and school's
// connection at once.
const (
	// memoryLimitShare is the share of the machine's (or container's)
	// memory given to the Go runtime by default, in percent. The limit
	// covers only memory the runtime manages; badger's memory-mapped
	// tables and value log, the page cache they live in and the
	// kernel's socket buffers are outside it and need the rest.
	memoryLimitShare = 70
	// minMemoryLimit is the least default: below it the collector would
	// run nearly continuously under ordinary load (a few hundred
	// connections, badger's caches), which is worse than no limit.
	minMemoryLimit = 256 << 20
	// cgroupMaxPath is the cgroup v2 memory limit of this process's
	// container; "max" means none.
	cgroupMaxPath = "/sys/fs/cgroup/memory.max"
	// meminfoPath holds the machine's physical memory (MemTotal, kB).
	meminfoPath = "/proc/meminfo"
)

// defaultMemoryLimit is memoryLimitShare of the smaller of the cgroup limit
// (cgroupMax, the text of memory.max; "" or "max" when there is none) and
// physical memory (meminfo, the text of /proc/meminfo), at least
// minMemoryLimit. It returns 0 when neither says anything: no limit.
func defaultMemoryLimit(cgroupMax, meminfo string) int64 {
	var total int64
	if v := strings.TrimSpace(cgroupMax); v != "" && v != "max" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			total = n
		}
	}
	sc := bufio.NewScanner(strings.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 && kb < math.MaxInt64/1024 {
				if phys := kb * 1024; total == 0 || phys < total {
					total = phys
				}
			}
		}
	}
	if total == 0 {
		return 0
	}
	return max(total/100*memoryLimitShare, minMemoryLimit)
}

// parseMemoryLimit reads a size (see parseSize), or "off" for none.
func parseMemoryLimit(s string) (int64, error) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return math.MaxInt64, nil
	}
	n, ok := parseSize(s)
	if !ok {
		return 0, fmt.Errorf("memory limit %q: want a size such as 2GiB or 512MiB, or off", s)
	}
	return n, nil
}

// applyMemoryLimit sets the runtime's memory limit: GOMEMLIMIT, when set,
// is left as the runtime read it; else the --memory-limit flag; else
// defaultMemoryLimit of this machine. It returns the limit in force and
// where it came from.
func applyMemoryLimit(flagValue string) (limit int64, source string, err error) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT", nil
	}
	if flagValue != "" {
		n, err := parseMemoryLimit(flagValue)
		if err != nil {
			return 0, "", err
		}
		debug.SetMemoryLimit(n)
		return n, "--memory-limit", nil
	}
	cg, _ := os.ReadFile(cgroupMaxPath)
	mi, _ := os.ReadFile(meminfoPath)
	n := defaultMemoryLimit(string(cg), string(mi))
	if n == 0 {
		return debug.SetMemoryLimit(-1), "none found", nil
	}
	debug.SetMemoryLimit(n)
	return n, fmt.Sprintf("%d%% of memory", memoryLimitShare), nil
}
