package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What `paydrill cluster` says without starting anything: its help names
// what it builds, where, how long it takes and the packages it needs;
// usage errors exit 2; status of a directory with no cluster exits 3 with
// "not up"; down there is a no-op that touches nothing else in it.
func TestClusterCommandLine(t *testing.T) {
	code, out, _ := paydrill(t, "cluster", "--help")
	if code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, want := range []string{"v1.34.0", "Go module proxy", "30 minutes", "1 minute", "etcd-server", "containerd",
		"runc", "containernetworking-plugins", "nftables", "iptables", "conntrack", "topology.kubernetes.io/zone", "paydrill-local", "down"} {
		if !strings.Contains(out, want) {
			t.Errorf("cluster --help does not say %q", want)
		}
	}
	for _, args := range [][]string{{"cluster"}, {"cluster", "up", "--nodes", "4"}, {"cluster", "up", "--nodes", "0"}, {"cluster", "sideways"}, {"cluster", "status", "extra"}} {
		if code, _, errb := paydrill(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb)
		}
	}

	dir := filepath.Join(t.TempDir(), "c")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(mine, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errb := paydrill(t, "cluster", "status", "--dir", dir)
	if code != 3 || !strings.Contains(errb, "not up") {
		t.Errorf("status of no cluster: exit %d, stdout %q, stderr %q; want 3 and \"not up\"", code, out, errb)
	}
	if code, _, errb := paydrill(t, "cluster", "down", "--dir", dir); code != 0 || !strings.Contains(errb, "not up") {
		t.Errorf("down of no cluster: exit %d, %s", code, errb)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("down removed a file it did not make: %v", err)
	}
	if code, _, _ := paydrill(t, "pause", "extra"); code != 2 {
		t.Errorf("pause with an argument: exit %d, want 2", code)
	}
	if code, out, _ := paydrill(t, "--help"); code != 0 || !strings.Contains(out, "cluster") || strings.Contains(out, "pause") {
		t.Errorf("root help lists cluster and hides pause: exit %d\n%s", code, out)
	}
}
