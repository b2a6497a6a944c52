package main

import (
	"math"
	"testing"
)

const meminfo8G = "MemTotal:        8000000 kB\nMemFree:         1000 kB\n"

func TestDefaultMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		name, cgroup, meminfo string
		want                  int64
	}{
		{"machine only", "", meminfo8G, 8000000 * 1024 / 100 * memoryLimitShare},
		{"cgroup max means none", "max\n", meminfo8G, 8000000 * 1024 / 100 * memoryLimitShare},
		{"cgroup below machine", "2147483648\n", meminfo8G, 2147483648 / 100 * memoryLimitShare},
		{"cgroup above machine", "99999999999999\n", meminfo8G, 8000000 * 1024 / 100 * memoryLimitShare},
		{"tiny container clamps up", "104857600\n", meminfo8G, minMemoryLimit},
		{"nothing known", "", "", 0},
		{"garbage", "lots", "MemTotal: many kB", 0},
	} {
		if got := defaultMemoryLimit(c.cgroup, c.meminfo); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestParseMemoryLimit(t *testing.T) {
	for in, want := range map[string]int64{
		"2GiB": 2 << 30, "512MiB": 512 << 20, "512mb": 512 << 20, "1048576": 1 << 20, "64 KiB": 64 << 10, "off": math.MaxInt64,
	} {
		if got, err := parseMemoryLimit(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1GiB", "0", "lots", "9999999999GiB"} {
		if _, err := parseMemoryLimit(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
