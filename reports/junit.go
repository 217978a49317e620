package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// junitSuites is JUnit XML's root, in the plain form CI servers read
// (Jenkins, GitLab, GitHub Actions test reporters, CircleCI).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// junitText is multi-line output, kept readable in the file.
type junitText struct {
	Text string `xml:",cdata"`
}

// JUnit writes the suite as JUnit XML: one testsuite, one testcase per
// scenario. A scenario whose expectations did not all hold (or that a stop
// condition aborted) is a failure whose message names every failed
// expectation with its value ("lost_orders == 0 (value 3)"); one that
// could not run, or that the harness could not keep up with, is an error.
// Each testcase's output is the run's key figures and where its report is.
func JUnit(w io.Writer, s *Suite) error {
	root := junitSuites{Name: "paydrill"}
	suite := junitSuite{Name: "paydrill"}
	var total float64
	for _, run := range s.Scenarios {
		c := junitCase{Classname: "paydrill", File: run.File}
		if run.Result != nil {
			r := run.Result
			c.Name, c.Time = r.Scenario, fmt.Sprintf("%.3f", r.Harness.WallS)
			total += r.Harness.WallS
			c.SystemOut = &junitText{caseOutput(run)}
		} else {
			c.Name, c.Time = strings.TrimSuffix(filepath.Base(run.File), filepath.Ext(run.File)), "0"
		}
		if run.Error != "" {
			c.Error = &junitProblem{Message: run.Error, Type: "harness", Text: strings.Join(run.Failures(), "\n")}
			suite.Errors++
		} else if lines := run.Failures(); len(lines) > 0 || !run.Passed() {
			c.Failure = &junitProblem{Message: strings.Join(lines, "; "), Type: "expectation", Text: strings.Join(lines, "\n")}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	suite.Time = fmt.Sprintf("%.3f", total)
	root.Tests, root.Failures, root.Errors, root.Time = suite.Tests, suite.Failures, suite.Errors, suite.Time
	root.Suites = []junitSuite{suite}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// caseOutput is a testcase's output: the figures a person looks at first,
// every expectation, and where the run's report is.
func caseOutput(run SuiteRun) string {
	r := run.Result
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s · %d orders, %s succeeded, %d failovers (%s), anomalies %s, RTO %s, latency p99 %s\n",
		r.Scenario, strings.ToUpper(r.Verdict), r.Orders.Sent, pct(r.SuccessRate), r.Failovers, pct(r.FailoverRate),
		anomalyBrief(r), rtoShort(r.RTOS), ms(r.LatencyMS.P99))
	for _, e := range r.Expectations {
		mark, v := expectationCells(e, "%.6g")
		fmt.Fprintf(&b, "%s %s = %s\n", mark, e.Expr, v)
	}
	for _, n := range r.Harness.Notes {
		fmt.Fprintf(&b, "! %s\n", n)
	}
	if r.OutDir != "" {
		fmt.Fprintf(&b, "report: %s\n", filepath.Join(r.OutDir, "report.html"))
	}
	return b.String()
}
