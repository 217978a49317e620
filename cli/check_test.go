package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"paydrill/harness/result"
	"paydrill/internal/machine"
)

// runsDir holds the recorded known-bad runs (see its README.md).
var runsDir = filepath.Join("..", "fixtures", "runs")

// TestCheckFindsEachRecordedAnomaly checks every recorded run again: each
// reports its anomaly, of its kind and count, and nothing else, with the
// verdict and exit code its scenario's expectations give. Nothing boots.
func TestCheckFindsEachRecordedAnomaly(t *testing.T) {
	tests := []struct {
		run     string
		kind    string
		count   int
		figures map[string]float64 // more figures that must hold
		verdict string
		exit    int
	}{
		{"double-charge", result.KindDoubleCharge, 2, map[string]float64{"double_charges": 2, "failovers": 2, "charges": 6}, "pass", 0},
		{"phantom-charge", result.KindPhantomCharge, 2, map[string]float64{"phantom_charges": 2, "orders.rejected": 2}, "pass", 0},
		{"lost-order", result.KindLostOrder, 1, map[string]float64{"lost_orders": 1, "rpo_orders": 0}, "fail", 1},
		{"unreconciled", result.KindUnreconciled, 2, map[string]float64{"unreconciled": 2, "exposure_cents": 8995}, "fail", 1},
		{"wrong-match", result.KindWrongMatch, 2, map[string]float64{"wrong_matches": 2}, "pass", 0},
		{"rpo-loss", result.KindLostOrder, 1, map[string]float64{"lost_orders": 1, "rpo_orders": 1, "rpo_cents": 1653}, "fail", 1},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.run] = true
		t.Run(tc.run, func(t *testing.T) {
			code, stdout, stderr := paydrill(t, "check", filepath.Join(runsDir, tc.run), "--json")
			if code != tc.exit {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.exit, stderr)
			}
			var r result.Result
			if err := json.Unmarshal([]byte(stdout), &r); err != nil {
				t.Fatalf("--json printed no result: %v\n%s", err, stdout)
			}
			kinds := map[string]int{}
			for _, a := range r.Anomalies {
				kinds[a.Kind]++
			}
			if want := map[string]int{tc.kind: tc.count}; !reflect.DeepEqual(kinds, want) {
				t.Errorf("anomalies by kind %v, want %v", kinds, want)
			}
			for key, want := range tc.figures {
				if got, ok := r.Lookup(key); !ok || got != want {
					t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
				}
			}
			if r.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s", r.Verdict, tc.verdict)
			}
		})
	}
	// Every recorded run is checked here.
	entries, err := os.ReadDir(runsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !seen[e.Name()] {
			t.Errorf("fixtures/runs/%s is not checked by this test", e.Name())
		}
	}
}

// TestCheckJudgesOtherExpectationsAndWritesJUnit: --expect replaces the
// saved expectations (a run that passed fails under a stricter one), and
// --junit names the failed expectation with its value.
func TestCheckJudgesOtherExpectationsAndWritesJUnit(t *testing.T) {
	dir := filepath.Join(runsDir, "phantom-charge")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, stdout, stderr := paydrill(t, "check", dir, "--expect", "phantom_charges == 0", "--expect", "during fault 1: success_rate > 0%", "--junit", junit)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "phantom_charges == 0") || strings.Contains(stdout, "unreconciled == 0") {
		t.Errorf("the summary does not judge --expect instead of the saved expectations:\n%s", stdout)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<failure message="phantom_charges == 0 (value 2)"`) || strings.Count(string(b), "<failure") != 1 {
		t.Errorf("JUnit does not name the one failed expectation with its value:\n%s", b)
	}
	if code, _, stderr := paydrill(t, "check", dir, "--expect", "phantom_charges ~ 0"); code != 2 || !strings.Contains(stderr, "--expect") {
		t.Errorf("a malformed --expect: exit %d, %q; want 2 naming it", code, stderr)
	}
}

// TestCheckBadInputExitsTwoNamingTheFile: no DIR, a missing one, one that
// is not a run's, or a run missing one of its files.
func TestCheckBadInputExitsTwoNamingTheFile(t *testing.T) {
	broken := t.TempDir()
	copyDir(t, filepath.Join(runsDir, "double-charge"), broken)
	if err := os.Remove(filepath.Join(broken, "exports", "db.ndjson")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "accepts 1 arg"},
		{[]string{"check", filepath.Join(t.TempDir(), "gone")}, "gone"},
		{[]string{"check", t.TempDir()}, "evidence.json is missing"},
		{[]string{"check", broken}, filepath.Join(broken, "exports", "db.ndjson") + " is missing"},
	}
	for _, tc := range tests {
		code, _, stderr := paydrill(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 saying %q", tc.args, code, stderr, tc.want)
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckPrintsWhatTheRunPrinted runs a small embedded scenario with a
// fault, double charges and windowed expectations, then checks its
// directory again: the JSON result is report.json's, key for key, the
// summary is the one `report` renders from report.json, and the exit code
// is the run's.
//
// No key is left out of the comparison. The harness's own figures
// (harness.*: wall_s, achieved_rate, timer_lag_ms, queue_distortion,
// saturated, settled, notes, speed_auto) were measured while the run went
// on (the load's pace, timer lateness, the wall clock) and cannot be
// recomputed from the evidence: check shows them as evidence.json saved
// them, so their equality here shows they were saved whole, not that they
// were recomputed. out_dir is the directory given, the same here. Every
// other key is recomputed by the checker from the saved evidence.
func TestCheckPrintsWhatTheRunPrinted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the system")
	}
	machine.Shared(t)
	scenario := writeScenario(t, `name: check-again
seed: 4
speed: 10
duration: 40s
system:
  app: {dedupe: "off"}
load: {rate: 2/s}
faults:
  - {name: slow-production, at: 10s, for: 20s, link: edge->router, toxic: latency, attributes: {latency: 20s}}
expect:
  - double_charges > 0
  - during fault 1: failover_rate > 50%
  - after recovery for 5s: success_rate == 100%
  - latency_ms.p99 < 1s
`)
	dir := filepath.Join(t.TempDir(), "run")
	runCode, runOut, stderr := paydrill(t, "run", scenario, "--out", dir, "--json", "--quiet", "--allow-saturated")
	if runCode != 0 && runCode != 1 {
		t.Fatalf("run: exit %d: %s", runCode, stderr)
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkCode, checkOut, stderr := paydrill(t, "check", dir, "--json", "--allow-saturated")
	if checkCode != runCode {
		t.Errorf("check exits %d, the run exited %d; stderr:\n%s", checkCode, runCode, stderr)
	}
	if stderr != "" && checkCode <= 1 {
		t.Errorf("check says something on stderr (a figure differs from report.json?):\n%s", stderr)
	}
	var saved, printed, again map[string]any
	for _, x := range []struct {
		b []byte
		m *map[string]any
	}{{report, &saved}, {[]byte(runOut), &printed}, {[]byte(checkOut), &again}} {
		if err := json.Unmarshal(x.b, x.m); err != nil {
			t.Fatalf("%v\n%s", err, x.b)
		}
	}
	if diffs := jsonDiff("", saved, printed); len(diffs) > 0 {
		t.Fatalf("run --json printed something other than report.json: %s", strings.Join(diffs, "; "))
	}
	if diffs := jsonDiff("", saved, again); len(diffs) > 0 {
		t.Errorf("check differs from report.json at %d keys:\n  %s", len(diffs), strings.Join(diffs, "\n  "))
	}
	// The run must have had something to get right.
	if n, _ := lookup(saved, "double_charges"); n == float64(0) {
		t.Errorf("the run had no double charges: nothing was checked again")
	}
	if exps, _ := saved["expectations"].([]any); len(exps) != 4 {
		t.Errorf("expectations %v, want the scenario's four", saved["expectations"])
	}

	_, summary, _ := paydrill(t, "report", dir)
	_, checked, _ := paydrill(t, "check", dir, "--allow-saturated")
	if summary != checked || summary == "" {
		t.Errorf("check prints another summary than the run's:\n%s\nthe run's (paydrill report):\n%s", checked, summary)
	}
}

// jsonDiff lists the keys (dotted, [i] for list items) where a and b
// differ.
func jsonDiff(path string, a, b any) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			av, ain := am[k]
			bv, bin := bm[k]
			if ain != bin {
				out = append(out, p+": present in only one")
				continue
			}
			out = append(out, jsonDiff(p, av, bv)...)
		}
		return out
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		var out []string
		for i := range al {
			out = append(out, jsonDiff(path+"["+strconv.Itoa(i)+"]", al[i], bl[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(a, b) {
		ab, _ := json.Marshal(a)
		bb, _ := json.Marshal(b)
		return []string{path + ": " + string(ab) + " vs " + string(bb)}
	}
	return nil
}

// TestCheckSaysWhatDiffersFromReportJSON: when the run's report.json says
// otherwise than the checker does now (an older checker, a hand edit),
// check lists each figure that differs, and the verdict, on stderr.
func TestCheckSaysWhatDiffersFromReportJSON(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join(runsDir, "lost-order"), dir)
	code, stdout, _ := paydrill(t, "check", dir, "--json")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatal(err)
	}
	m["lost_orders"], m["verdict"] = 0, "pass"
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, "report.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, stderr := paydrill(t, "check", dir)
	for _, want := range []string{"2 figures differ from report.json", "lost_orders 1 (report.json: 0)", "verdict fail (report.json: pass)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
}
