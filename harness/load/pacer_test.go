package load

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

func TestStagesPacerRampsLinearly(t *testing.T) {
	// 0 → 10/s over 10 s sends 50 hits; then 10/s for 10 s sends 100 more.
	p := StagesPacer{{Duration: 10 * time.Second, From: 0, To: 10}, {Duration: 10 * time.Second, From: 10, To: 10}}
	if h := p.hits(10 * time.Second); h != 50 {
		t.Fatalf("hits by 10s = %v, want 50", h)
	}
	if h := p.hits(20 * time.Second); h != 150 {
		t.Fatalf("hits by 20s = %v, want 150", h)
	}
	// The 50th hit is due at 10 s: H(10s) = 50.
	wait, stop := p.Pace(0, 49)
	if stop || wait < 9990*time.Millisecond || wait > 10*time.Second {
		t.Fatalf("Pace(0, 49) = %v, %v; want ≈10s", wait, stop)
	}
	if _, stop := p.Pace(20*time.Second, 150); !stop {
		t.Fatal("Pace after the last hit did not stop")
	}
	// Running late never drops a planned hit: the 150th is sent at once.
	if wait, stop := p.Pace(25*time.Second, 149); stop || wait != 0 {
		t.Fatalf("Pace(25s, 149) = %v, %v; want the last hit now", wait, stop)
	}
}
