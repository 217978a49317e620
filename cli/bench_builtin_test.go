package cli

import (
	"encoding/json"
	"testing"

	"paydrill/scenarios"
)

// BenchmarkBuiltinScenarios runs each built-in scenario at its default
// speed on the runtime it needs (embedded, docker for a container fault,
// kubernetes for the redundancy settings or a Kubernetes fault: the
// local cluster must be up) and reports its wall time (wall-s/op) and whether the harness kept
// up. The README's table of wall times comes from:
//
//	go test -run '^$' -bench BuiltinScenarios -benchtime 1x ./cli
func BenchmarkBuiltinScenarios(b *testing.B) {
	for _, name := range scenarios.BuiltinNames() {
		s, err := scenarios.Builtin(name)
		if err != nil {
			b.Fatal(err)
		}
		runtime := "embedded"
		if s.HasRedundancy() {
			runtime = "kubernetes"
		}
		for _, f := range s.Faults {
			switch {
			case f.IsContainer():
				runtime = "docker"
			case f.IsKubernetes():
				runtime = "kubernetes"
			}
		}
		b.Run(name, func(b *testing.B) {
			var wall float64
			for i := 0; i < b.N; i++ {
				code, stdout, stderr := paydrill(b, "run", name, "--json", "--runtime", runtime, "--out", b.TempDir())
				var r struct {
					Harness struct {
						WallS     float64 `json:"wall_s"`
						Saturated bool    `json:"saturated"`
					} `json:"harness"`
				}
				if err := json.Unmarshal([]byte(stdout), &r); err != nil {
					b.Fatalf("exit %d: %v: %s", code, err, stderr)
				}
				wall += r.Harness.WallS
				if r.Harness.Saturated {
					b.Logf("%s: the harness could not keep up", name)
				}
			}
			b.ReportMetric(wall/float64(b.N), "wall-s/op")
		})
	}
}
