package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"paydrill/harness/checker"
	"paydrill/harness/exit"
	"paydrill/harness/result"
	"paydrill/harness/system"
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
		vs, err := expandRange(v)
		if err != nil {
			return Axis{}, fmt.Errorf("--set %q: %w", s, err)
		}
		a.Values = append(a.Values, vs...)
	}
	return a, nil
}

// maxRange bounds the values one range may expand to.
const maxRange = 1000

// rangeForm is FROM..TO, FROM..TO+STEP or FROM..TO*FACTOR, plain numbers.
var rangeForm = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\.\.([0-9]+(?:\.[0-9]+)?)(?:([*+])([0-9]+(?:\.[0-9]+)?))?$`)

// expandRange expands a range of plain numbers into its values: 8..64*2
// is 8,16,32,64 (each the last times the factor), 10..50+10 is
// 10,20,30,40,50 (plus the step), 1..4 is 1,2,3,4; the values stop at TO.
// Anything else is one value, as it is.
func expandRange(v string) ([]string, error) {
	m := rangeForm.FindStringSubmatch(v)
	if m == nil {
		return []string{v}, nil
	}
	from, _ := strconv.ParseFloat(m[1], 64)
	to, _ := strconv.ParseFloat(m[2], 64)
	op, step := m[3], 1.0
	if op == "" {
		op = "+"
	} else {
		step, _ = strconv.ParseFloat(m[4], 64)
	}
	switch {
	case to < from:
		return nil, fmt.Errorf("range %s: %s is less than %s", v, m[2], m[1])
	case op == "+" && step <= 0:
		return nil, fmt.Errorf("range %s: the step must be more than 0", v)
	case op == "*" && (step <= 1 || from <= 0):
		return nil, fmt.Errorf("range %s: the factor must be more than 1, from a start more than 0", v)
	}
	var out []string
	for x := from; x <= to*(1+1e-12); {
		out = append(out, strconv.FormatFloat(x, 'f', -1, 64))
		if len(out) > maxRange {
			return nil, fmt.Errorf("range %s: more than %d values", v, maxRange)
		}
		if op == "*" {
			x *= step
		} else {
			x = from + float64(len(out))*step // no creeping sum
		}
	}
	return out, nil
}

// Find is, for each combination of the other axes' values, the first
// value of the first axis with more than one value (in the order given:
// list it smallest first) whose run meets cond, as `sweep --find` prints
// it. An axis of one value (--set 'expect=[]') is a setting, not a
// dimension, and is left out of the others.
func Find(res *result.SweepResult, axes []Axis, cond scenarios.Expectation) []result.Found {
	var varied []Axis
	single := map[string]bool{}
	for _, a := range axes {
		if len(a.Values) > 1 {
			varied = append(varied, a)
		} else {
			single[a.Key] = true
		}
	}
	if len(varied) == 0 {
		varied = axes[:min(len(axes), 1)]
	}
	if len(varied) == 0 {
		return nil
	}
	axes = varied
	var out []result.Found
	index := map[string]int{}
	for _, row := range res.Rows {
		var others result.Settings
		var first result.Setting
		for _, kv := range row.Settings {
			switch {
			case kv.Key == axes[0].Key && first.Key == "":
				first = kv
			case single[kv.Key] && kv.Key != axes[0].Key:
			default:
				others = append(others, kv)
			}
		}
		name := others.String()
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, result.Found{Condition: cond.Expr, Others: others, Key: axes[0].Key})
		}
		if out[i].Value != "" {
			continue
		}
		if v, present := row.Result.Lookup(cond.Key); present && cond.Eval(v, true) {
			out[i].Value, out[i].Figure = first.Value, &v
		}
	}
	return out
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

// Grid is every combination of the axes' values, the first axis varying
// slowest (as nested loops in the order the axes were given).
func Grid(axes []Axis) []result.Settings {
	out := []result.Settings{{}}
	for _, a := range axes {
		var next []result.Settings
		for _, row := range out {
			for _, v := range a.Values {
				next = append(next, append(append(result.Settings{}, row...), result.Setting{Key: a.Key, Value: v}))
			}
		}
		out = next
	}
	return out
}

// SweepOptions are how a sweep is carried out.
type SweepOptions struct {
	Runtime system.Runtime
	// Dir holds one directory per row, named by its index and settings.
	Dir   string
	RunID string
	// Progress, when not nil, gets a line per row and each run's own
	// progress.
	Progress io.Writer
	// Finished, when not nil, is called with each row as soon as its run
	// is judged (to write its report); an error ends the sweep.
	Finished func(result.SweepRow) error
	// KeepSpeed: see Options. A sweep over speed always keeps it.
	KeepSpeed bool
	// ProxyAll and Calibrator: see Options. Without a calibrator the
	// sweep measures the machine once for all its rows.
	ProxyAll   bool
	Calibrator *Calibrator
	// Allow: see Options.
	Allow checker.Allow
}

// SweepScenarios applies every combination of the axes to base and
// validates each, so a bad value is found before anything runs. A
// problem is reported once, with the first combination that has it.
func SweepScenarios(base *scenarios.Scenario, axes []Axis) ([]result.Settings, []*scenarios.Scenario, error) {
	grid := Grid(axes)
	out := make([]*scenarios.Scenario, len(grid))
	var errs []error
	seen := map[string]bool{}
	add := func(row result.Settings, err error) {
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
		return nil, nil, exit.BadInput(errors.Join(errs...))
	}
	return grid, out, nil
}

// Sweep runs base once per combination of the axes' values, one after
// another, and judges each run's expectations. Every combination is
// checked before the first runs.
func Sweep(ctx context.Context, base *scenarios.Scenario, axes []Axis, opt SweepOptions) (*result.SweepResult, error) {
	grid, runs, err := SweepScenarios(base, axes)
	if err != nil {
		return nil, err
	}
	res := &result.SweepResult{Rows: []result.SweepRow{}}
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
			Options{Runtime: opt.Runtime, Dir: dir, Progress: opt.Progress, KeepSpeed: keep, ProxyAll: opt.ProxyAll, Calibrator: cal, Allow: opt.Allow})
		if err != nil {
			return res, fmt.Errorf("sweep row %d (%s): %w", i+1, grid[i], err)
		}
		row := result.SweepRow{Settings: grid[i], Result: r}
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
func rowDir(i int, s result.Settings) string {
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
