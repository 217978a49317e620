package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"paydrill/harness/result"
	"strconv"
	"strings"
)

// SuiteRun is one scenario of a suite: its result, where it came from, and
// why it could not run or cannot be trusted (Error; the result is then
// only what was known).
type SuiteRun struct {
	*result.Result
	File  string `json:"file,omitempty"`
	Error string `json:"error,omitempty"`
}

// MarshalJSON writes the result's keys (result.Result's own MarshalJSON,
// which an embedded field would otherwise hide file and error behind)
// followed by file and error.
func (s SuiteRun) MarshalJSON() ([]byte, error) {
	b := []byte("{}")
	if s.Result != nil {
		var err error
		if b, err = json.Marshal(s.Result); err != nil {
			return nil, err
		}
	}
	extra, err := json.Marshal(struct {
		File  string `json:"file,omitempty"`
		Error string `json:"error,omitempty"`
	}{s.File, s.Error})
	if err != nil || len(extra) <= 2 {
		return b, err
	}
	if len(b) > 2 {
		b = append(b[:len(b)-1], ',')
	} else {
		b = b[:len(b)-1]
	}
	return append(b, extra[1:]...), nil
}

// Suite is a finished suite, as `paydrill suite --json` prints it:
// {"scenarios": [<result>...], "verdict": ...}.
type Suite struct {
	Scenarios []SuiteRun `json:"scenarios"`
	Verdict   string     `json:"verdict"` // "pass" when every scenario ran and passed
}

// Judge sets the suite's verdict from its scenarios'.
func (s *Suite) Judge() {
	s.Verdict = "pass"
	for _, r := range s.Scenarios {
		if !r.Passed() {
			s.Verdict = "fail"
		}
	}
}

// Passed reports whether the scenario ran, could be trusted, and every
// expectation held.
func (r SuiteRun) Passed() bool {
	return r.Error == "" && r.Result != nil && r.Verdict == "pass"
}

// Failures lists what failed in the run, one line each: every failed
// expectation with its value (and why it has none), an abort, an error.
func (r SuiteRun) Failures() []string {
	var out []string
	if r.Error != "" {
		out = append(out, r.Error)
	}
	if r.Result == nil {
		return out
	}
	if r.Harness.Aborted {
		out = append(out, "aborted early: "+r.Harness.AbortReason)
	}
	for _, e := range r.Expectations {
		if e.OK {
			continue
		}
		v := "null"
		if e.Value != nil {
			v = strconv.FormatFloat(*e.Value, 'g', 6, 64)
		}
		line := fmt.Sprintf("%s (value %s)", e.Expr, v)
		if e.Note != "" {
			line += ": " + e.Note
		}
		out = append(out, line)
	}
	return out
}

// SuiteTable writes one row per scenario (verdict, orders, success,
// failovers, anomalies, RTO, latency p99, wall time), then every failure
// under the table, then the suite's verdict.
func SuiteTable(w io.Writer, s *Suite) error {
	t := NewTable(w, "scenario", "verdict", "orders", "success", "failovers", "anomalies", "RTO", "latency p99", "wall")
	for _, run := range s.Scenarios {
		r := run.Result
		if r == nil {
			r = &result.Result{Scenario: run.File}
		}
		verdict := r.Verdict
		switch {
		case run.Error != "":
			verdict = "error"
		case r.Harness.Aborted:
			verdict += " (aborted)"
		case r.Harness.Saturated:
			verdict += " !"
		}
		if r.Orders.Sent == 0 && run.Error != "" {
			t.Append([]string{r.Scenario, verdict, "-", "-", "-", "-", "-", "-", fmt.Sprintf("%.1fs", r.Harness.WallS)})
			continue
		}
		t.Append([]string{r.Scenario, verdict, strconv.Itoa(r.Orders.Sent), pct(r.SuccessRate),
			fmt.Sprintf("%d (%s)", r.Failovers, pct(r.FailoverRate)), anomalyBrief(r), rtoShort(r.RTOS), ms(r.LatencyMS.P99),
			fmt.Sprintf("%.1fs", r.Harness.WallS)})
	}
	if err := t.Render(); err != nil {
		return err
	}
	failed := 0
	for _, run := range s.Scenarios {
		lines := run.Failures()
		if len(lines) == 0 {
			continue
		}
		failed++
		name := run.File
		if run.Result != nil {
			name = run.Scenario
		}
		fmt.Fprintf(w, "\n✗ %s\n", name)
		for _, l := range lines {
			fmt.Fprintf(w, "    %s\n", l)
		}
		if run.Result != nil && run.OutDir != "" {
			fmt.Fprintf(w, "    report: %s\n", filepath.Join(run.OutDir, "report.html"))
		}
	}
	for _, run := range s.Scenarios {
		if run.Error == "" && run.Result != nil && run.Harness.Saturated {
			fmt.Fprintf(w, "\n! %s: the harness could not keep up with the model (%s): its figures are not to be trusted\n",
				run.Scenario, strings.Join(run.Harness.Notes, "; "))
		}
	}
	fmt.Fprintf(w, "\nsuite: %s (%d of %d scenarios passed)\n", strings.ToUpper(s.Verdict), len(s.Scenarios)-failed, len(s.Scenarios))
	return nil
}

func rtoShort(v *float64) string {
	if v == nil {
		return "-"
	}
	return seconds(*v)
}

// WriteSuite writes suite.json (what --json prints) into the suite's
// directory.
func WriteSuite(dir string, s *Suite) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "suite.json"))
	if err != nil {
		return err
	}
	if err := JSON(f, s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadSuite reads suite.json from a suite's directory.
func ReadSuite(dir string) (*Suite, error) {
	b, err := os.ReadFile(filepath.Join(dir, "suite.json"))
	if err != nil {
		return nil, err
	}
	var s Suite
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("suite.json: %w", err)
	}
	return &s, nil
}
