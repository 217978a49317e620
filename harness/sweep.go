package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"paydrill/scenarios"
)

// Axis is one setting a sweep varies: a scenario key, as Scenario.Set
// takes it ("dynos.count"), and the values it takes in turn.
type Axis struct {
	Key    string
	Values []string
}

// ParseAxis reads KEY=V1,V2,… (the form of `paydrill sweep --set`). Values
// are split at commas outside brackets, braces and quotes, so flow YAML
// stays whole: "dynos.service_time={dist: exponential, mean: 80ms},50ms"
// has two values.
func ParseAxis(s string) (Axis, error) {
	key, list, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return Axis{}, fmt.Errorf("--set %q: want KEY=VALUE or KEY=V1,V2,…", s)
	}
	a := Axis{Key: key}
	for _, v := range splitTop(list) {
		v = strings.TrimSpace(v)
		if v == "" {
			return Axis{}, fmt.Errorf("--set %q: empty value in the list", s)
		}
		a.Values = append(a.Values, v)
	}
	return a, nil
}

// splitTop splits s at commas that are not inside (), [], {} or quotes.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[' || r == '{' || r == '(':
			depth++
		case r == ']' || r == '}' || r == ')':
			depth--
		case r == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Setting is one key and the value a sweep row gives it.
type Setting struct {
	Key, Value string
}

// Settings are a sweep row's values, one per axis, in axis order. As JSON
// they are an object whose keys keep that order.
type Settings []Setting

// MarshalJSON writes {"key": "value", …} in axis order.
func (s Settings) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.Key)
		v, _ := json.Marshal(kv.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes, keeping the order.
func (s *Settings) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("settings: want a JSON object")
	}
	*s = nil
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*s = append(*s, Setting{Key: k.(string), Value: v})
	}
	_, err := dec.Token()
	return err
}

// String is "key=value key=value".
func (s Settings) String() string {
	parts := make([]string, len(s))
	for i, kv := range s {
		parts[i] = kv.Key + "=" + kv.Value
	}
	return strings.Join(parts, " ")
}

// Grid is every combination of the axes' values, the first axis varying
// slowest (as nested loops in the order the axes were given).
func Grid(axes []Axis) []Settings {
	out := []Settings{{}}
	for _, a := range axes {
		var next []Settings
		for _, row := range out {
			for _, v := range a.Values {
				next = append(next, append(append(Settings{}, row...), Setting{a.Key, v}))
			}
		}
		out = next
	}
	return out
}

// SweepRow is one combination of a sweep and the run it gave.
type SweepRow struct {
	Settings Settings `json:"settings"`
	Result   *Result  `json:"result"`
}

// SweepResult is a finished sweep, as `paydrill sweep --json` prints it.
type SweepResult struct {
	Rows []SweepRow `json:"rows"`
}

// Saturated lists the rows whose run could not keep up with the model.
func (s *SweepResult) Saturated() []SweepRow {
	var out []SweepRow
	for _, r := range s.Rows {
		if r.Result.Harness.Saturated {
			out = append(out, r)
		}
	}
	return out
}

// Failed reports whether any row's expectations did not all hold.
func (s *SweepResult) Failed() bool {
	for _, r := range s.Rows {
		if r.Result.Verdict != "pass" {
			return true
		}
	}
	return false
}

// SweepOptions are how a sweep is carried out.
type SweepOptions struct {
	Runtime Runtime
	// Dir holds one directory per row, named by its index and settings.
	Dir   string
	RunID string
	// Progress, when not nil, gets a line per row and each run's own
	// progress.
	Progress io.Writer
	// Finished, when not nil, is called with each row as soon as its run
	// is judged (to write its report); an error ends the sweep.
	Finished func(SweepRow) error
	// KeepSpeed: see Options. A sweep over speed always keeps it.
	KeepSpeed bool
	// ProxyAll and Calibrator: see Options. Without a calibrator the
	// sweep measures the machine once for all its rows.
	ProxyAll   bool
	Calibrator *Calibrator
}

// SweepScenarios applies every combination of the axes to base and
// validates each, so a bad value is found before anything runs. A
// problem is reported once, with the first combination that has it.
func SweepScenarios(base *scenarios.Scenario, axes []Axis) ([]Settings, []*scenarios.Scenario, error) {
	grid := Grid(axes)
	out := make([]*scenarios.Scenario, len(grid))
	var errs []error
	seen := map[string]bool{}
	add := func(row Settings, err error) {
		if !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, fmt.Errorf("with %s: %w", row, err))
		}
	}
	for i, row := range grid {
		s := base.Clone()
		for _, kv := range row {
			if err := s.Set(kv.Key, kv.Value); err != nil {
				add(row, err)
			}
		}
		for _, err := range s.Validate() {
			add(row, err)
		}
		out[i] = s
	}
	if len(errs) > 0 {
		return nil, nil, BadInput(errors.Join(errs...))
	}
	return grid, out, nil
}

// Sweep runs base once per combination of the axes' values, one after
// another, and judges each run's expectations. Every combination is
// checked before the first runs.
func Sweep(ctx context.Context, base *scenarios.Scenario, axes []Axis, opt SweepOptions) (*SweepResult, error) {
	grid, runs, err := SweepScenarios(base, axes)
	if err != nil {
		return nil, err
	}
	res := &SweepResult{Rows: []SweepRow{}}
	keep := opt.KeepSpeed || slices.ContainsFunc(axes, func(a Axis) bool { return a.Key == "speed" })
	cal := opt.Calibrator
	if cal == nil {
		cal = &Calibrator{}
	}
	for i, s := range runs {
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "sweep %d/%d: %s\n", i+1, len(runs), grid[i])
		}
		dir := filepath.Join(opt.Dir, rowDir(i, grid[i]))
		r, err := RunScenario(ctx, s, fmt.Sprintf("%s-%d", opt.RunID, i+1),
			Options{Runtime: opt.Runtime, Dir: dir, Progress: opt.Progress, KeepSpeed: keep, ProxyAll: opt.ProxyAll, Calibrator: cal})
		if err != nil {
			return res, fmt.Errorf("sweep row %d (%s): %w", i+1, grid[i], err)
		}
		row := SweepRow{Settings: grid[i], Result: r}
		res.Rows = append(res.Rows, row)
		if opt.Finished != nil {
			if err := opt.Finished(row); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// rowDir names row i's directory: "03-dynos.count=4,router.strategy=random"
// with anything unsafe in a file name replaced.
func rowDir(i int, s Settings) string {
	name := fmt.Sprintf("%02d", i+1)
	for _, kv := range s {
		name += "," + kv.Key + "=" + kv.Value
	}
	name = strings.Replace(name, ",", "-", 1)
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(".,=-_", r):
			return r
		}
		return '_'
	}, name)
	if len(safe) > 120 {
		safe = safe[:120]
	}
	return safe
}
