package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The model runtime refuses, as bad input naming the key (file, line and
// column), what it would have to ignore to run: a container fault, an
// expectation on a money figure it does not compute, a standby region.
func TestModelRefusesWhatItDoesNotSimulate(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"container fault", `
name: kill-capture
duration: 1m
load: {rate: 5/s}
faults:
  - {at: 10s, for: 10s, target: capture, toxic: kill}
`, []string{"kill-capture.yaml:5:", "faults[0].toxic", "container fault"}},
		{"money expectation", `
name: money
duration: 1m
load: {rate: 5/s}
expect:
  - failover_rate < 1%
  - double_charges == 0
`, []string{"money.yaml:6:", "expect[1]", "double_charges"}},
		{"windowed expectation", `
name: windowed
duration: 1m
load: {rate: 5/s}
faults:
  - {at: 10s, for: 10s, link: edge->router, toxic: down}
expect:
  - "during fault 1: failover_rate > 50%"
`, []string{"windowed.yaml:7:", "expect[0]", "window"}},
		{"a fault on the order store's link", `
name: db
duration: 1m
load: {rate: 5/s}
faults:
  - {at: 10s, for: 10s, link: dyno->db, toxic: down}
`, []string{"db.yaml:5:", "faults[0].link", "order store"}},
		{"another toxic", `
name: bandwidth
duration: 1m
load: {rate: 5/s}
faults:
  - {at: 10s, for: 10s, link: edge->router, toxic: bandwidth, attributes: {rate: 10}}
`, []string{"bandwidth.yaml:5:", "faults[0].toxic", "bandwidth"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.SplitN(strings.TrimSpace(c.yaml), "\n", 2)[0][len("name: "):]+".yaml")
			if err := os.WriteFile(file, []byte(strings.TrimLeft(c.yaml, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := paydrill(t, "run", file, "--runtime", "model", "--out", t.TempDir())
			if code != 2 {
				t.Fatalf("exit %d, want 2 (bad input)\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
		})
	}
	code, _, stderr := paydrill(t, "run", "region-outage-hot", "--runtime", "model")
	if code != 2 || !strings.Contains(stderr, "system.regions.standby") {
		t.Errorf("a standby region: exit %d, %q; want 2 naming system.regions.standby", code, stderr)
	}
}

// A model run prints the contract's keys with the money figures null, says
// it is the model's, and runs an outage's failover and recovery.
func TestModelRunsAnOutage(t *testing.T) {
	code, stdout, stderr := paydrill(t, "run", "production-outage", "--runtime", "model", "--json", "--quiet",
		"--set", "expect=[failovers > 0, rto_s < 150]", "--out", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r["runtime"] != "model" || r["verdict"] != "pass" {
		t.Errorf("runtime %v, verdict %v", r["runtime"], r["verdict"])
	}
	for _, k := range []string{"charges", "double_charges", "lost_orders", "unreconciled", "rpo_orders", "reconcile"} {
		v, ok := r[k]
		if !ok || v != nil {
			t.Errorf("%s = %v (present %v): want null", k, v, ok)
		}
	}
	// production-outage: edge->router down from 1m to 3m of 5m at 5/s.
	sent := r["orders"].(map[string]any)["sent"].(float64)
	failovers := r["failovers"].(float64)
	if failovers < 0.3*sent || failovers > 0.5*sent {
		t.Errorf("%v of %v orders failed over: want the two minutes of the outage's (about 40%%)", failovers, sent)
	}
	rto, _ := r["rto_s"].(float64)
	if rto < 119 || rto > 125 {
		t.Errorf("rto_s %v: want the outage's 120 s and a moment", r["rto_s"])
	}
	_, text, _ := paydrill(t, "run", "production-outage", "--runtime", "model", "--set", "expect=[]", "--out", t.TempDir())
	for _, w := range []string{"model runtime", "virtual time", "money: not computed by the model runtime"} {
		if !strings.Contains(text, w) {
			t.Errorf("the summary does not say %q:\n%s", w, text)
		}
	}
}

// suite --runtime model runs every scenario in virtual time, its table
// and JUnit as usual.
func TestModelSuite(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"routing.yaml": "name: routing\nduration: 2m\nsystem: {router: {strategy: least-conn}}\nload: {rate: 20/s}\nexpect: [failover_rate < 1%]\n",
		"outage.yaml":  "name: outage\nduration: 3m\nload: {rate: 5/s}\nfaults: [{at: 1m, for: 30s, link: edge->router, toxic: down}]\nexpect: [rto_s < 40, failovers > 100]\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, stdout, stderr := paydrill(t, "suite", dir, "--runtime", "model", "--junit", junit, "--out", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, w := range []string{"routing", "outage", "pass"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("the suite's table does not say %q:\n%s", w, stdout)
		}
	}
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), "outage") {
		t.Errorf("junit: %v %s", err, b)
	}
}
