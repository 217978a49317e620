package harness

import (
	"testing"
	"time"
)

// TestStagesPacerCountDoesNotDependOnSpeed: the same model load compressed
// by different speeds sends the same number of orders, though a stage's
// wall duration is rounded to the nanosecond.
func TestStagesPacerCountDoesNotDependOnSpeed(t *testing.T) {
	for _, speed := range []float64{1, 3, 7, 25, 30, 40, 70, 100} {
		d := time.Duration(float64(20*time.Second) / speed)
		p := StagesPacer{{Duration: d, From: 10 * speed, To: 10 * speed}}
		var n uint64
		for {
			if _, stop := p.Pace(0, n); stop {
				break
			}
			n++
		}
		if n != 200 {
			t.Errorf("speed %g: %d hits; want 200 (10/s for 20 s)", speed, n)
		}
	}
}
