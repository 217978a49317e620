package scenarios

import (
	"errors"
	"fmt"
	"math"
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
