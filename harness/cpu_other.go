//go:build !unix

package harness

import "time"

// processCPU is unknown here: the calibration then counts no CPU cost
// beyond its floor.
func processCPU() time.Duration { return 0 }
