package dist

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// DurationFlag is a pflag.Value holding a Spec of durations in seconds,
// written on the command line as KIND:PARAM=VALUE,... with Go durations:
//
//	const:value=50ms
//	uniform:min=10ms,max=90ms
//	exponential:mean=50ms
//	lognormal:median=50ms,p99=900ms
//	weibull:shape=0.6,scale=40ms
//	empirical:file=samples.txt   (one duration a line, e.g. 35ms)
type DurationFlag struct{ Spec *Spec }

// String renders the spec in flag form.
func (f DurationFlag) String() string {
	if f.Spec == nil || f.Spec.Kind == "" {
		return ""
	}
	s := *f.Spec
	d := func(v float64) string { return time.Duration(v * float64(time.Second)).String() }
	switch s.Kind {
	case "const":
		return "const:value=" + d(s.Value)
	case "uniform":
		return "uniform:min=" + d(s.Min) + ",max=" + d(s.Max)
	case "exponential":
		return "exponential:mean=" + d(s.Mean)
	case "lognormal":
		return "lognormal:median=" + d(s.Median) + ",p99=" + d(s.P99)
	case "weibull":
		return "weibull:shape=" + strconv.FormatFloat(s.Shape, 'g', -1, 64) + ",scale=" + d(s.Scale)
	case "empirical":
		return fmt.Sprintf("empirical:(%d samples)", len(s.Samples))
	}
	return s.Kind
}

// Type names the flag's value kind in help output.
func (DurationFlag) Type() string { return "dist" }

// Set parses the flag form.
func (f DurationFlag) Set(v string) error {
	s, err := ParseDurationSpec(v)
	if err != nil {
		return err
	}
	*f.Spec = s
	return nil
}

// ParseDurationSpec parses KIND:PARAM=VALUE,... (see DurationFlag).
func ParseDurationSpec(v string) (Spec, error) {
	kind, params, _ := strings.Cut(v, ":")
	s := Spec{Kind: kind}
	if _, ok := kinds[kind]; !ok {
		return s, fmt.Errorf("unknown distribution %q (one of %s)", kind, strings.Join(Kinds(), ", "))
	}
	for _, kv := range strings.Split(params, ",") {
		if kv == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return s, fmt.Errorf("%q: want PARAM=VALUE", kv)
		}
		if k == "file" {
			samples, err := ReadDurationSamples(val)
			if err != nil {
				return s, err
			}
			s.Samples = samples
			continue
		}
		if k == "shape" {
			x, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return s, fmt.Errorf("shape: %w", err)
			}
			s.Shape = x
			continue
		}
		d, err := time.ParseDuration(val)
		if err != nil {
			return s, fmt.Errorf("%s: %w", k, err)
		}
		x := d.Seconds()
		switch k {
		case "value":
			s.Value = x
		case "min":
			s.Min = x
		case "max":
			s.Max = x
		case "mean":
			s.Mean = x
		case "median":
			s.Median = x
		case "p99":
			s.P99 = x
		case "scale":
			s.Scale = x
		default:
			return s, fmt.Errorf("unknown parameter %q", k)
		}
	}
	return s, s.Validate()
}

// ReadDurationSamples reads one Go duration (or plain seconds) a line;
// blank lines and lines starting with # are skipped.
func ReadDurationSamples(path string) ([]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []float64
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if d, err := time.ParseDuration(line); err == nil {
			out = append(out, d.Seconds())
			continue
		}
		x, err := strconv.ParseFloat(line, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %q is not a duration", path, i+1, line)
		}
		out = append(out, x)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no samples", path)
	}
	return out, nil
}
