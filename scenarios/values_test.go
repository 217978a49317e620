package scenarios

import (
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"5/s", 5, true},      // per second
		{"300/m", 5, true},    // per minute
		{"30/m", 0.5, true},   // below one a second
		{"0.5/s", 0.5, true},  // decimals
		{".5/s", 0.5, true},   // leading point
		{"0/s", 0, true},      // zero parses; Validate judges it
		{"-5/s", -5, true},    // negative parses; Validate judges it
		{" 5 / s ", 5, true},  // spaces
		{"5", 0, false},       // no unit
		{"5/h", 0, false},     // unknown unit
		{"/s", 0, false},      // no number
		{"five/s", 0, false},  // not a number
		{"1e3/s", 0, false},   // no exponents
		{"inf/s", 0, false},   // no infinities
		{"5/s/m", 0, false},   // junk
		{"1_000/s", 0, false}, // no separators
		{"0x10/s", 0, false},  // no hex
		{"", 0, false},        // nothing
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"35.00", 3500, true},              // the usual form
		{"35", 3500, true},                 // whole dollars
		{"35.5", 3550, true},               // one decimal
		{"0.01", 1, true},                  // a cent
		{".99", 99, true},                  // no leading zero
		{"$100.00", 10000, true},           // a dollar sign
		{"0", 0, true},                     // zero
		{"100.001", 0, false},              // three decimals
		{"-35.00", 0, false},               // negative
		{"+35", 0, false},                  // sign
		{"1,000.00", 0, false},             // separators
		{"1e3", 0, false},                  // exponent
		{"35.", 0, false},                  // dangling point
		{".", 0, false},                    // only a point
		{"", 0, false},                     // nothing
		{"$", 0, false},                    // only a sign
		{"12.3.4", 0, false},               // two points
		{"92233720368547758.07", 0, false}, // too large for cents
	}
	for _, tt := range tests {
		got, err := ParseMoney(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMoney(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{FormatDuration(15 * time.Second), "15s"},         // seconds
		{FormatDuration(2 * time.Minute), "2m"},           // no 0s tail
		{FormatDuration(time.Hour), "1h"},                 // no 0m0s tail
		{FormatDuration(90 * time.Minute), "1h30m"},       // mixed
		{FormatDuration(150 * time.Millisecond), "150ms"}, // below a second
		{FormatDuration(0), "0s"},                         // zero
		{FormatRate(5), "5/s"},                            // whole per second
		{FormatRate(0.5), "30/m"},                         // per minute when exact
		{FormatRate(1.0 / 3), "20/m"},                     // a third per second
		{FormatRate(0.123456), "0.123456/s"},              // neither
		{FormatMoney(10000), "100.00"},                    // dollars
		{FormatMoney(5), "0.05"},                          // cents
		{FormatMoney(-5), "-0.05"},                        // negative (only in errors)
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	for _, r := range []float64{5, 0.5, 20, 1.0 / 3, 0.25} {
		back, err := ParseRate(FormatRate(r))
		if err != nil || !nearlyEqual(back, r) {
			t.Errorf("rate %v → %q → %v, %v", r, FormatRate(r), back, err)
		}
	}
}

func TestSplitIndex(t *testing.T) {
	tests := []struct {
		in    string
		base  string
		index int
	}{
		{"router->dyno[3]", "router->dyno", 3}, // a link
		{"dyno[12]", "dyno", 12},               // a target
		{"router->dyno", "router->dyno", 0},    // no index
		{"dyno[0]", "dyno", -1},                // 1-based
		{"dyno[x]", "dyno", -1},                // not a number
		{"dyno[+1]", "dyno", -1},               // no signs
		{"dyno[1", "dyno[1", 0},                // not closed: no index
	}
	for _, tt := range tests {
		if b, i := SplitIndex(tt.in); b != tt.base || i != tt.index {
			t.Errorf("SplitIndex(%q) = %q, %d", tt.in, b, i)
		}
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		name  string
		cands []string
		want  string
	}{
		{"wokers", []string{"count", "workers"}, ` (did you mean "workers"?)`},  // a deletion
		{"wrokers", []string{"count", "workers"}, ` (did you mean "workers"?)`}, // a transposition
		{"zzz", []string{"a", "b"}, " (one of a, b)"},                           // nothing close: list
		{"dyno", []string{"dynos", "db"}, ` (did you mean "dynos"?)`},           // a prefix
		{"xy", []string{"ab"}, " (one of ab)"},                                  // short names must be close
	}
	for _, tt := range tests {
		if got := suggest(tt.name, tt.cands); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{"x.yaml", 7, 5, "system.dynos.wokers", "unknown key"}, "x.yaml:7:5: system.dynos.wokers: unknown key"}, // everything
		{Error{"x.yaml", 7, 0, "", "not valid YAML"}, "x.yaml:7: not valid YAML"},                                     // no column, no key
		{Error{"x.yaml", 0, 0, "load.rate", "bad"}, "x.yaml: load.rate: bad"},                                         // a default
		{Error{"--set", 0, 0, "system.dynos.count", "bad"}, "--set: system.dynos.count: bad"},                         // from Set
		{Error{"", 0, 0, "", "bad"}, "bad"},                                                                           // nothing known
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	l := ErrorList{{File: "b", Line: 1}, {File: "a", Line: 0, Msg: "no line"}, {File: "a", Line: 3, Col: 2}, {File: "a", Line: 3, Col: 1}}
	l.Sort()
	if got := l.Error(); got != "a:3:1: \na:3:2: \na: no line\nb:1: " {
		t.Errorf("sorted list:\n%s", got)
	}
	if (ErrorList{}).Err() != nil || l.Err() == nil {
		t.Error("Err")
	}
}
