package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseSize reads a size: bytes, or a number with KiB, MiB, GiB, TiB (or
// KB, MB, GB, TB, taken as the same powers of two).
func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

// parseQuota reads a storage quota flag: "" keeps the store's default (0),
// "off" means none (-1), else a size such as 256MiB.
func parseQuota(name, s string) (int64, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "off", "none":
		return -1, nil
	}
	n, ok := parseSize(s)
	if !ok {
		return 0, fmt.Errorf("--%s %q: want a size such as 256MiB or 2GiB, or off", name, s)
	}
	return n, nil
}
