package kubernetes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"paydrill/harness/kubernetes/cluster"
	"paydrill/internal/machine"
)

// ForTest is the runtime a test runs pods on: paydrill's local cluster
// (`paydrill cluster up`), logging to t. It holds the machine
// (machine.Exclusive: a cluster's pods beside another whole-system test
// make both late, and the cluster's own lifecycle test takes it down).
// With -short, or without a cluster up, t is skipped, unless
// PAYDRILL_REQUIRE_KUBERNETES=1 (CI, which brings it up first) makes the
// latter a failure.
func ForTest(t testing.TB) Runtime {
	t.Helper()
	if testing.Short() {
		t.Skip("runs pods on a cluster; skipped with -short")
	}
	rt := Runtime{Local: cluster.Default(), Log: testLog{t, time.Now()}}
	available := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return rt.Available(ctx)
	}
	required := os.Getenv("PAYDRILL_REQUIRE_KUBERNETES") == "1"
	if !required {
		// Without a cluster, skip at once rather than after waiting for
		// the machine (a required cluster is looked at only once the
		// machine is held: the lifecycle test may have it down).
		if err := available(); err != nil {
			t.Skipf("skipping the kubernetes runtime's test: %v (PAYDRILL_REQUIRE_KUBERNETES=1 makes this a failure)", err)
		}
	}
	machine.Exclusive(t)
	if err := available(); err != nil {
		if required {
			t.Fatalf("PAYDRILL_REQUIRE_KUBERNETES=1 and the kubernetes runtime cannot run: %v", err)
		}
		t.Skipf("skipping the kubernetes runtime's test: %v (PAYDRILL_REQUIRE_KUBERNETES=1 makes this a failure)", err)
	}
	return rt
}

// testLog writes the runtime's progress to a test's log, timed.
type testLog struct {
	t  testing.TB
	t0 time.Time
}

func (l testLog) Write(b []byte) (int, error) {
	l.t.Logf("%5.2fs %s", time.Since(l.t0).Seconds(), strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// Leftovers lists what the cluster and this host still hold of the run
// runID: its namespaces, and the host directories of their stores.
// Nothing, once a run has ended, however it ended.
func (r Runtime) Leftovers(ctx context.Context, runID string) ([]string, error) {
	_, cs, _, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: labelRun + "=" + labelValue(runID)})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: listing the run's namespaces: %w", err)
	}
	var out []string
	for _, ns := range nss.Items {
		out = append(out, "namespace "+ns.Name)
		if m, _ := filepath.Glob(liveRoot(ns.Name)); len(m) > 0 {
			out = append(out, "directory "+m[0])
		}
	}
	return out, nil
}
