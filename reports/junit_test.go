package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"paydrill/harness/result"
	"strings"
	"testing"
)

// junitDoc is what a CI server reads of JUnit XML.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Tests int    `xml:"tests,attr"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// sampleSuite is three scenarios: one passed, one whose expectations
// failed (one of them windowed), one the harness could not run, and one a
// stop condition aborted.
func sampleSuite() *Suite {
	three, slow := 3.0, 812.0
	s := &Suite{Scenarios: []SuiteRun{
		{File: "ci/baseline.yaml", Result: &result.Result{Scenario: "baseline", Verdict: "pass", Harness: result.HarnessHealth{WallS: 10.2},
			Expectations: []result.Verdict{{Expr: "lost_orders == 0", Value: new(float64), OK: true}}}},
		{File: "ci/outage.yaml", Result: &result.Result{Scenario: "outage", Verdict: "fail", OutDir: "/tmp/s/02-outage", Harness: result.HarnessHealth{WallS: 16.5},
			Orders: result.OrderCounts{Sent: 1500}, LostOrders: 3,
			Expectations: []result.Verdict{
				{Expr: "lost_orders == 0", Value: &three, OK: false},
				{Expr: "after recovery for 30s: latency_ms.p99 < 500ms", Value: &slow, OK: false, Window: &result.Span{FromS: 180, ToS: 210, Orders: 150}},
				{Expr: "double_charges == 0", Value: new(float64), OK: true},
			}}},
		{File: "ci/docker.yaml", Error: "boot: docker is not running", Result: &result.Result{Scenario: "docker-only", Verdict: "fail"}},
		{File: "ci/abort.yaml", Result: &result.Result{Scenario: "abort", Verdict: "fail",
			Harness: result.HarnessHealth{Aborted: true, AbortReason: "abort_if lost_orders > 100 held after 42.0s of model time"}}},
	}}
	s.Judge()
	return s
}

func TestJUnitNamesEveryFailedExpectationWithItsValue(t *testing.T) {
	var b bytes.Buffer
	if err := JUnit(&b, sampleSuite()); err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if doc.Tests != 4 || doc.Failures != 2 || doc.Errors != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 4 {
		t.Fatalf("tests %d failures %d errors %d: want 4, 2, 1 in one testsuite\n%s", doc.Tests, doc.Failures, doc.Errors, b.String())
	}
	cases := doc.Suites[0].Cases
	if c := cases[0]; c.Name != "baseline" || c.Failure != nil || c.Error != nil || c.Time != "10.200" {
		t.Errorf("passing case: %+v", c)
	}
	f := cases[1].Failure
	if f == nil {
		t.Fatal("the failed scenario has no <failure>")
	}
	for _, w := range []string{"lost_orders == 0 (value 3)", "after recovery for 30s: latency_ms.p99 < 500ms (value 812)"} {
		if !strings.Contains(f.Message, w) {
			t.Errorf("failure message %q does not say %q", f.Message, w)
		}
	}
	if strings.Contains(f.Message, "double_charges") {
		t.Errorf("failure message %q names an expectation that held", f.Message)
	}
	if !strings.Contains(cases[1].SystemOut, "/tmp/s/02-outage/report.html") {
		t.Errorf("output does not say where the report is: %q", cases[1].SystemOut)
	}
	if e := cases[2].Error; e == nil || !strings.Contains(e.Message, "docker is not running") {
		t.Errorf("the scenario that could not run: %+v", cases[2])
	}
	if f := cases[3].Failure; f == nil || !strings.Contains(f.Message, "aborted early: abort_if lost_orders > 100 held") {
		t.Errorf("the aborted scenario: %+v", cases[3])
	}
}

func TestSuiteJSONAndTable(t *testing.T) {
	s := sampleSuite()
	if s.Verdict != "fail" {
		t.Fatalf("verdict %s", s.Verdict)
	}
	var b bytes.Buffer
	if err := JSON(&b, s); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Scenarios []map[string]any `json:"scenarios"`
		Verdict   string           `json:"verdict"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// Each scenario is a result, keys of DESIGN.md's contract at its top level.
	if len(doc.Scenarios) != 4 || doc.Verdict != "fail" || doc.Scenarios[1]["scenario"] != "outage" ||
		doc.Scenarios[1]["lost_orders"] != 3.0 || doc.Scenarios[2]["error"] != "boot: docker is not running" {
		t.Fatalf("suite JSON: %s", b.String())
	}
	b.Reset()
	if err := SuiteTable(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, w := range []string{"baseline", "outage", "error", "abort", "(aborted)",
		"✗ outage", "lost_orders == 0 (value 3)", "suite: FAIL (1 of 4 scenarios passed)"} {
		if !strings.Contains(out, w) {
			t.Errorf("the table does not say %q:\n%s", w, out)
		}
	}
}
