//go:build !unix

package loadgen

import "time"

// processCPU is not measured on this platform; clientCpuMs reads 0.
func processCPU() time.Duration { return 0 }
