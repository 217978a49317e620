package reports

import (
	"paydrill/harness/result"
	"strings"
	"testing"
)

func TestSecondsAndDollarsReadAsAPersonWrites(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0.04, "0.0s"},   // under a minute: tenths
		{45.25, "45.2s"}, // rounding to tenths
		{60, "1m00s"},    // a whole minute
		{119.6, "2m00s"}, // rounds up into the next minute, never "1m60s"
		{3725, "62m05s"}, // past an hour stays in minutes
	} {
		if got := seconds(tc.in); got != tc.want {
			t.Errorf("seconds(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		cents int64
		want  string
	}{
		{0, "$0.00"}, {5, "$0.05"}, {123456789, "$1,234,567.89"}, {-1050, "-$10.50"},
	} {
		if got := Dollars(tc.cents); got != tc.want {
			t.Errorf("Dollars(%d) = %q, want %q", tc.cents, got, tc.want)
		}
	}
}

// A speed auto chose is said as such, with why, and not as a warning;
// other notes still are.
func TestSummarySaysWhySpeedAutoChoseItsSpeed(t *testing.T) {
	why := "speed auto chose 12 (a factor 2 of margin): at 15 the dynos' real work would add 3.4%"
	r := &result.Result{Scenario: "baseline", Runtime: "embedded", Speed: 12, Verdict: "pass",
		Harness: result.HarnessHealth{SpeedAuto: &result.SpeedChoice{Speed: 12, Why: why}, Notes: []string{why, "did not settle"}}}
	var b strings.Builder
	if err := Summary(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "speed 12x (auto)") || !strings.Contains(out, "\n"+why+"\n") || strings.Contains(out, "! "+why) ||
		!strings.Contains(out, "! did not settle") {
		t.Errorf("summary:\n%s", out)
	}
}
