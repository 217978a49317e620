package cli

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydrill/internal/machine"
)

// Small scenarios for suites, in real time (speed 1) so that the race
// detector does not saturate them: a few seconds of wall time each. The
// deep backlog and long failover timeout keep orders from failing over
// when a busy machine under -race slows the dynos: only the faults do.
const (
	suiteHealthy = `name: healthy
speed: 1
duration: 2s
system: {dynos: {service_time: 2ms, backlog: 10000}, edge: {failover_timeout: 30s}, gateway: {latency: 1ms}}
load: {rate: 20/s}
settle: {quiet: 100ms, timeout: 10s}
expect: [lost_orders == 0, double_charges == 0]
`
	// Production is unreachable for the middle second: a third of the
	// run's orders fail over, but all of the outage's.
	suiteOutage = `name: outage
speed: 1
duration: 3s
rto_window: 300ms
system: {dynos: {service_time: 2ms, backlog: 10000}, edge: {failover_timeout: 30s}, gateway: {latency: 1ms}, reconciler: {interval: 200ms}}
load: {rate: 20/s}
settle: {quiet: 200ms, timeout: 10s}
faults:
  - {at: 1s, for: 1s, link: edge->router, toxic: down}
expect:
  - failover_rate < 50%
  - during fault 1: failover_rate < 50%
  - lost_orders == 0
`
	// A minute-long run that a stop condition ends within seconds.
	suiteRunaway = `name: runaway
speed: 1
duration: 1m
system: {dynos: {service_time: 2ms, backlog: 10000}, edge: {failover_timeout: 30s}, gateway: {latency: 1ms}}
load: {rate: 20/s}
settle: {quiet: 200ms, timeout: 10s}
faults:
  - {at: 500ms, link: edge->router, toxic: down}
expect: [lost_orders == 0]
abort_if: [failovers > 20]
`
)

// windowFailed is the outage's windowed expectation failing with its
// value: all, or nearly all, of the outage's orders failed over.
var windowFailed = regexp.MustCompile(`during fault 1: failover_rate < 50% \(value (1|0\.9[0-9]*)\)`)

// writeSuite writes scenario files into a new folder.
func writeSuite(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSuiteChecksEveryFileBeforeRunningAny(t *testing.T) {
	dir := writeSuite(t, map[string]string{
		"a-good.yaml": suiteHealthy,
		"b-typo.yaml": "name: typo\nduration: 1m\nsystem:\n  dynos:\n    wokers: 2\n",
		"c-window.yaml": "name: w\nduration: 1m\nfaults:\n  - {at: 10s, for: 10s, link: edge->router, toxic: down}\n" +
			"expect:\n  - during fault 2: failovers == 0\n",
	})
	out := t.TempDir()
	start := time.Now()
	code, stdout, stderr := paydrill(t, "suite", dir, "--out", out, "--junit", filepath.Join(out, "junit.xml"))
	if code != 2 {
		t.Fatalf("exit %d, want 2; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, w := range []string{"b-typo.yaml:5:5: system.dynos.wokers: unknown key", "c-window.yaml:6:18: expect[0]: during fault 2: there is no fault 2",
		"2 of 3 scenarios have problems; nothing ran"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr does not say %q:\n%s", w, stderr)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 || time.Since(start) > 2*time.Second {
		t.Fatalf("something ran: %d entries in --out after %v", len(entries), time.Since(start))
	}
	if code, _, stderr := paydrill(t, "suite", dir, "--parallel", "0"); code != 2 || !strings.Contains(stderr, "--parallel") {
		t.Fatalf("--parallel 0: exit %d, %s", code, stderr)
	}
}

func TestSuiteJudgesEveryScenarioAndReportsThem(t *testing.T) {
	t.Parallel()
	machine.Shared(t)
	dir := writeSuite(t, map[string]string{"1-healthy.yaml": suiteHealthy, "2-outage.yaml": suiteOutage, "3-runaway.yaml": suiteRunaway})
	out := t.TempDir()
	junit := filepath.Join(out, "junit.xml")
	start := time.Now()
	code, stdout, stderr := paydrill(t, "suite", dir, "--parallel", "2", "--out", out, "--junit", junit, "--allow-saturated")
	wall := time.Since(start)
	t.Logf("suite in %v:\n%s", wall, stdout)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (an expectation failed); stderr:\n%s", code, stderr)
	}
	// The table: a row per scenario, then each failure with its value
	// (all or nearly all of the outage's orders failed over: one sent as
	// the link went down may have reached production).
	for _, w := range []string{"healthy", "outage", "runaway", "fail (aborted)",
		"aborted early: abort_if failovers > 20 held", "suite: FAIL (1 of 3 scenarios passed)"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("the table does not say %q", w)
		}
	}
	if !windowFailed.MatchString(stdout) {
		t.Error("the table does not give the windowed expectation's value")
	}
	if strings.Contains(stdout, "    failover_rate < 50% (value") {
		t.Error("the whole-run failover rate (a third) is listed as failed")
	}

	// JUnit: one testcase per scenario, failures naming each failed expectation with its value.
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testsuite>testcase"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit.xml is not XML: %v", err)
	}
	if len(doc.Cases) != 3 || doc.Failures != 2 || doc.Cases[0].Failure != nil {
		t.Fatalf("junit.xml: %d cases, %d failures, first %+v\n%s", len(doc.Cases), doc.Failures, doc.Cases, b)
	}
	if m := doc.Cases[1].Failure.Message; !windowFailed.MatchString(m) {
		t.Errorf("outage's failure message %q", m)
	}
	if m := doc.Cases[2].Failure.Message; !strings.Contains(m, "aborted early: abort_if failovers > 20 held") {
		t.Errorf("runaway's failure message %q", m)
	}

	// Every run left its report, with its plots, and the suite its JSON.
	runs, _ := filepath.Glob(filepath.Join(out, "0*"))
	if len(runs) != 3 {
		t.Fatalf("run directories %v", runs)
	}
	for _, d := range runs {
		page, err := os.ReadFile(filepath.Join(d, "report.html"))
		if err != nil || strings.Count(string(page), "<svg") != 4 {
			t.Errorf("%s: report.html with %d plots (%v)", d, strings.Count(string(page), "<svg"), err)
		}
	}

	// paydrill report re-renders it all without running anything.
	code, stdout, _ = paydrill(t, "report", out)
	if code != 1 || !windowFailed.MatchString(stdout) {
		t.Errorf("report of the suite: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = paydrill(t, "report", out, "--json")
	var suite struct {
		Scenarios []struct {
			Scenario string `json:"scenario"`
			Verdict  string `json:"verdict"`
		} `json:"scenarios"`
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(stdout), &suite); err != nil || code != 1 || len(suite.Scenarios) != 3 || suite.Verdict != "fail" ||
		suite.Scenarios[0].Verdict != "pass" {
		t.Errorf("report --json of the suite: exit %d, %v, %+v", code, err, suite)
	}
	outage := runs[1]
	os.Remove(filepath.Join(outage, "report.html"))
	code, stdout, _ = paydrill(t, "report", outage, "--json", "--html", "--junit", filepath.Join(out, "again.xml"))
	var r struct {
		Expectations []struct {
			Expr   string   `json:"expr"`
			Value  *float64 `json:"value"`
			Window *struct {
				FromS  float64 `json:"from_s"`
				Orders int     `json:"orders"`
			} `json:"window"`
		} `json:"expectations"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != 1 || len(r.Expectations) != 3 {
		t.Fatalf("report --json of a run: exit %d, %v\n%s", code, err, stdout)
	}
	if w := r.Expectations[1].Window; w == nil || w.FromS < 0.9 || w.FromS > 1.2 || w.Orders < 15 {
		t.Errorf("the windowed expectation's window: %+v", w)
	}
	if page, err := os.ReadFile(filepath.Join(outage, "report.html")); err != nil || !strings.Contains(string(page), "fault 1: down edge-&gt;router") {
		t.Errorf("report --html did not write the page again: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "again.xml")); err != nil || !windowFailed.MatchString(strings.ReplaceAll(string(b), "&lt;", "<")) {
		t.Errorf("report --junit of a run: %v\n%s", err, b)
	}
	if code, _, stderr := paydrill(t, "report", t.TempDir()); code != 2 || !strings.Contains(stderr, "neither report.json") {
		t.Errorf("report of an empty folder: exit %d, %s", code, stderr)
	}
}
