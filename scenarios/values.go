package scenarios

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a Go-style duration of model time ("150ms", "15s",
// "2m", "1h30m"; "0" alone is zero).
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("want a duration like 150ms, 15s or 2m, got %q", s)
	}
	return d, nil
}

// FormatDuration writes d the way a scenario file would: "15s", "2m",
// "1h30m", "150ms" (time.Duration.String without the trailing zero units).
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseRate reads a rate "N/s" or "N/m" (N a non-negative decimal) and
// returns it per second: "5/s" → 5, "30/m" → 0.5.
func ParseRate(s string) (float64, error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	bad := fmt.Errorf("want a rate like 5/s or 300/m, got %q", s)
	if !ok {
		return 0, bad
	}
	num = strings.TrimSpace(num)
	if num == "" || strings.ContainsAny(num, "eEinfINFxX_") {
		return 0, bad
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, bad
	}
	switch strings.TrimSpace(unit) {
	case "s":
		return n, nil
	case "m":
		return n / 60, nil
	}
	return 0, bad
}

// FormatRate writes a per-second rate as a scenario file would: "5/s", or
// "N/m" when that is exact and the per-second figure is not a whole number.
func FormatRate(perSecond float64) string {
	if perSecond != math.Trunc(perSecond) {
		if m := perSecond * 60; math.Abs(m-math.Round(m)) < 1e-9 {
			return strconv.FormatFloat(math.Round(m), 'f', -1, 64) + "/m"
		}
	}
	return strconv.FormatFloat(perSecond, 'f', -1, 64) + "/s"
}

// ParseMoney reads a decimal amount of dollars ("35", "35.5", "35.00", with
// an optional leading "$") and returns it in cents. More than two decimals,
// negative amounts, signs, exponents and separators are refused.
func ParseMoney(s string) (int64, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "$")
	bad := func(why string) error {
		return fmt.Errorf("want an amount of dollars like \"35.00\", got %q: %s", s, why)
	}
	if strings.HasPrefix(t, "-") {
		return 0, bad("amounts cannot be negative")
	}
	whole, frac, hasDot := strings.Cut(t, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, bad("no digits")
	}
	if hasDot && len(frac) > 2 {
		return 0, bad("at most 2 decimals (cents)")
	}
	if hasDot && frac == "" {
		return 0, bad("no digits after the point")
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, bad("only digits and one decimal point")
			}
		}
	}
	var dollars int64
	if whole != "" {
		var err error
		dollars, err = strconv.ParseInt(whole, 10, 64)
		if err != nil || dollars > math.MaxInt64/100-1 {
			return 0, bad("too large")
		}
	}
	for len(frac) < 2 {
		frac += "0"
	}
	cents, _ := strconv.ParseInt(frac, 10, 64)
	return dollars*100 + cents, nil
}

// FormatMoney writes cents as dollars with two decimals: 10000 → "100.00".
func FormatMoney(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

var errNotWhole = errors.New("not a whole number")

// wholeUnits converts d into a whole number of unit (time.Millisecond for
// toxiproxy's latency, time.Microsecond for slicer delay).
func wholeUnits(d, unit time.Duration) (int64, error) {
	if d%unit != 0 {
		return 0, errNotWhole
	}
	return int64(d / unit), nil
}

// maxZones is how many zones the local cluster has (a, b, c).
const maxZones = 3

// Patterns of the Kubernetes quantities the dynos' limits and disruption
// budget are written in (the subset a person writes: no exponents).
const (
	cpuPattern          = `^([0-9]+(\.[0-9]+)?|\.[0-9]+|[0-9]+m)$`
	memoryPattern       = `^([0-9]+(\.[0-9]+)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$`
	minAvailablePattern = `^[0-9]+%?$`
)

var (
	cpuRe          = regexp.MustCompile(cpuPattern)
	memoryRe       = regexp.MustCompile(memoryPattern)
	minAvailableRe = regexp.MustCompile(minAvailablePattern)
	// memoryTypo is a memory quantity with a suffix Kubernetes reads
	// otherwise or not at all: 256m (millibytes), 256MB, 1gi.
	memoryTypo = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?|\.[0-9]+)\s*([kKmMgGtTpPeE])(i?[bB]?|I[bB]?)?$`)
)

// checkCPU checks a Kubernetes CPU quantity: cores ("1", "0.5") or
// millicores ("500m"), greater than 0 and a whole number of millicores.
func checkCPU(q string) error {
	if !cpuRe.MatchString(q) {
		return fmt.Errorf("want a Kubernetes CPU quantity like 500m (millicores) or 1 (cores), got %q", q)
	}
	var milli float64
	if n, ok := strings.CutSuffix(q, "m"); ok {
		milli, _ = strconv.ParseFloat(n, 64)
	} else {
		cores, _ := strconv.ParseFloat(q, 64)
		milli = cores * 1000
		if _, frac, _ := strings.Cut(q, "."); len(strings.TrimRight(frac, "0")) > 3 {
			return fmt.Errorf("%s is not a whole number of millicores (Kubernetes' smallest CPU unit, 1m = 0.001)", q)
		}
	}
	if milli <= 0 {
		return fmt.Errorf("must be greater than 0, got %s", q)
	}
	return nil
}

// checkMemory checks a Kubernetes memory quantity: a number of bytes
// with an optional binary (Ki, Mi, Gi…) or decimal (k, M, G…) suffix,
// greater than 0 and a whole number of bytes.
func checkMemory(q string) error {
	if !memoryRe.MatchString(q) {
		if m := memoryTypo.FindStringSubmatch(q); m != nil {
			if m[3] == "m" && m[4] == "" {
				return fmt.Errorf("%s is %s millibytes to Kubernetes (m is milli): did you mean %sMi?", q, m[1], m[1])
			}
			return fmt.Errorf("want a Kubernetes memory quantity like 256Mi or 1Gi, got %q: did you mean %s%si?", q, m[1], strings.ToUpper(m[3][:1]))
		}
		return fmt.Errorf("want a Kubernetes memory quantity like 256Mi or 1Gi (bytes, with a suffix Ki, Mi, Gi, Ti, Pi, Ei or k, M, G, T, P, E), got %q", q)
	}
	num := strings.TrimRight(q, "KMGTPEkib")
	n, _ := strconv.ParseFloat(num, 64)
	if n <= 0 {
		return fmt.Errorf("must be greater than 0, got %s", q)
	}
	if num == q && strings.Contains(q, ".") {
		return fmt.Errorf("%s is not a whole number of bytes", q)
	}
	return nil
}

// checkMinAvailable checks a disruption budget's min_available: a number
// of dynos from 0 to count, or a percentage from 0% to 100%.
func checkMinAvailable(q string, count int) error {
	if !minAvailableRe.MatchString(q) {
		return fmt.Errorf("want a number of dynos (at most system.dynos.count, %d) or a percentage of them like 50%%, got %q", count, q)
	}
	if p, ok := strings.CutSuffix(q, "%"); ok {
		if n, err := strconv.Atoi(p); err != nil || n > 100 {
			return fmt.Errorf("a percentage must be from 0%% to 100%%, got %s", q)
		}
		return nil
	}
	if n, err := strconv.Atoi(q); err != nil || n > count {
		return fmt.Errorf("%s is more dynos than there are (system.dynos.count is %d): at most %d, or a percentage like 50%%", q, count, count)
	}
	return nil
}
