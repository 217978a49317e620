package harness

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"paydrill/harness/exit"
	"paydrill/harness/result"
	"paydrill/scenarios"
)

func TestParseAxis(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Axis
	}{
		// A list, and one value.
		{"dynos.count=2,4,8", Axis{"dynos.count", []string{"2", "4", "8"}}},
		{"router.strategy=least-conn", Axis{"router.strategy", []string{"least-conn"}}},
		// Commas inside braces, brackets and quotes do not split.
		{"dynos.service_time={dist: exponential, mean: 80ms},50ms",
			Axis{"dynos.service_time", []string{"{dist: exponential, mean: 80ms}", "50ms"}}},
		{"expect=[failovers == 0, lost_orders == 0],[]", Axis{"expect", []string{"[failovers == 0, lost_orders == 0]", "[]"}}},
		{`app.risk_limit="1,000.00","50.00"`, Axis{"app.risk_limit", []string{`"1,000.00"`, `"50.00"`}}},
		// Spaces around values are dropped.
		{"load.rate= 5/s , 10/s", Axis{"load.rate", []string{"5/s", "10/s"}}},
	} {
		got, err := ParseAxis(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseAxis(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"dynos.count", "=4", "dynos.count=2,,8", "dynos.count="} {
		if _, err := ParseAxis(bad); err == nil {
			t.Errorf("ParseAxis(%q) accepted it", bad)
		}
	}
}

func TestGridIsEveryCombinationFirstAxisSlowest(t *testing.T) {
	grid := Grid([]Axis{{"dynos.count", []string{"2", "4"}}, {"router.strategy", []string{"random", "least-conn", "p2c"}}})
	var got []string
	for _, row := range grid {
		got = append(got, row.String())
	}
	want := []string{
		"dynos.count=2 router.strategy=random", "dynos.count=2 router.strategy=least-conn", "dynos.count=2 router.strategy=p2c",
		"dynos.count=4 router.strategy=random", "dynos.count=4 router.strategy=least-conn", "dynos.count=4 router.strategy=p2c",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("grid:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSettingsJSONKeepsAxisOrder(t *testing.T) {
	s := result.Settings{{Key: "router.strategy", Value: "random"}, {Key: "dynos.count", Value: "8"}}
	b, err := json.Marshal(result.SweepRow{Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"settings":{"router.strategy":"random","dynos.count":"8"},"result":null}`; string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	var back result.SweepRow
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Settings, s) {
		t.Fatalf("read back %+v, %v; want %+v", back.Settings, err, s)
	}
}

func TestSweepChecksEveryCombinationFirst(t *testing.T) {
	base, err := scenarios.Builtin("baseline")
	if err != nil {
		t.Fatal(err)
	}
	grid, runs, err := SweepScenarios(base, []Axis{{"dynos.count", []string{"2", "4"}}, {"router.strategy", []string{"random", "least-conn"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(grid) != 4 || len(runs) != 4 {
		t.Fatalf("%d settings and %d scenarios, want 4 of each", len(grid), len(runs))
	}
	if runs[3].System.Dynos.Count != 4 || runs[3].System.Router.Strategy != "least-conn" || runs[0].System.Dynos.Count != 2 {
		t.Fatalf("row 4 has %d dynos %s, row 1 %d dynos: settings not applied", runs[3].System.Dynos.Count,
			runs[3].System.Router.Strategy, runs[0].System.Dynos.Count)
	}
	if base.System.Dynos.Count != 5 {
		t.Fatalf("the base scenario changed: %d dynos", base.System.Dynos.Count)
	}
	// A bad value anywhere in the grid is bad input, said once.
	_, _, err = SweepScenarios(base, []Axis{{"dynos.count", []string{"2", "0"}}, {"router.strategy", []string{"random", "least-conn"}}})
	if exit.Code(err) != exit.CodeBadInput || strings.Count(err.Error(), "system.dynos.count") != 1 {
		t.Fatalf("err = %v (exit %d), want bad input naming system.dynos.count once", err, exit.Code(err))
	}
	if _, _, err = SweepScenarios(base, []Axis{{"dynos.cuont", []string{"2"}}}); exit.Code(err) != exit.CodeBadInput {
		t.Fatalf("err = %v for an unknown key, want bad input", err)
	}
}

func TestRowDirIsASafeName(t *testing.T) {
	got := rowDir(2, result.Settings{{Key: "dynos.service_time", Value: "{dist: const, value: 5ms}"}, {Key: "router.strategy", Value: "p2c"}})
	if want := "03-dynos.service_time=_dist__const,_value__5ms_,router.strategy=p2c"; got != want {
		t.Fatalf("rowDir = %q, want %q", got, want)
	}
}

func TestParseAxisRanges(t *testing.T) {
	for in, want := range map[string]string{
		"dynos.count=8..64*2":      "8 16 32 64",
		"dynos.count=10..50+10":    "10 20 30 40 50",
		"dynos.count=1..3":         "1 2 3",
		"dynos.count=2,8..32*2,50": "2 8 16 32 50",
		"load.rate=1..2+0.5":       "1 1.5 2",
		"dynos.count=8..100*3":     "8 24 72",
	} {
		a, err := ParseAxis(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := strings.Join(a.Values, " "); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	for _, in := range []string{"dynos.count=64..8*2", "dynos.count=8..64*1", "dynos.count=0..64*2", "dynos.count=1..100000"} {
		if _, err := ParseAxis(in); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}
