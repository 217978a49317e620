package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A scenario with the dynos' redundancy settings or a Kubernetes fault is
// refused on every runtime but kubernetes before anything starts (docker
// is never called: the refusal comes first): exit 2, each key named where
// it was written, and a pointer to --runtime kubernetes.
func TestKubernetesOnlyScenariosAreRefusedElsewhere(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zones := write("zones.yaml", "name: zones\nduration: 1m\nload: {rate: 5/s}\nsystem:\n  dynos: {count: 4, zones: 2, spread: zone}\n")
	drain := write("drain.yaml", "name: drain\nduration: 1m\nload: {rate: 5/s}\nfaults:\n  - {at: 10s, for: 20s, zone: b, toxic: node-drain}\n")
	budget := write("budget.yaml", "name: budget\nduration: 1m\nload: {rate: 5/s}\nsystem:\n  dynos:\n    disruption_budget: {min_available: 50%}\n")
	for _, runtime := range []string{"embedded", "docker", "model"} {
		for _, c := range []struct {
			file string
			want []string
		}{
			{zones, []string{"zones.yaml:5:28: system.dynos.zones:", "zones.yaml:5:39: system.dynos.spread:"}},
			{drain, []string{"drain.yaml:5:41: faults[0].toxic:", "node-drain is a Kubernetes fault"}},
			{budget, []string{"budget.yaml:6:40: system.dynos.disruption_budget.min_available:"}},
		} {
			t.Run(runtime+"/"+filepath.Base(c.file), func(t *testing.T) {
				code, stdout, stderr := paydrill(t, "run", c.file, "--runtime", runtime, "--out", filepath.Join(dir, "out-"+runtime), "--quiet")
				if code != 2 || !strings.Contains(stderr, "--runtime kubernetes") {
					t.Fatalf("exit %d, stderr %q; want 2 and a pointer to --runtime kubernetes", code, stderr)
				}
				for _, w := range c.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("stderr %q lacks %q", stderr, w)
					}
				}
				if stdout != "" {
					t.Errorf("stdout %q: nothing ran, nothing to report", stdout)
				}
			})
		}
	}
	// A suite says so of each file before any runs.
	code, _, stderr := paydrill(t, "suite", zones, drain, "--out", filepath.Join(dir, "suite"), "--quiet")
	if code != 2 || !strings.Contains(stderr, "zones.yaml:5:28: system.dynos.zones: the embedded runtime") ||
		!strings.Contains(stderr, "drain.yaml:5:41: faults[0].toxic: node-drain is a Kubernetes fault: the embedded runtime cannot apply it; it needs --runtime kubernetes") {
		t.Errorf("suite: exit %d, %q", code, stderr)
	}
	// They are valid scenarios all the same: validate takes no runtime.
	if code, _, stderr := paydrill(t, "validate", zones, drain, budget, "../fixtures/scenarios/good/kubernetes.yaml"); code != 0 {
		t.Errorf("validate: exit %d, %q", code, stderr)
	}
}
