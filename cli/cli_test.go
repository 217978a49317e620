package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"paydrill/internal/machine"
	"strings"
	"testing"
)

// paydrill runs the command line in memory and returns its exit code,
// stdout and stderr.
func paydrill(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errb}
	code := Main(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func writeScenario(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadInputExitsTwoAndSaysWhere(t *testing.T) {
	tests := []struct {
		name string
		body string   // scenario file; empty: args alone
		args []string // after the file
		want []string // every one must appear on stderr
	}{
		{
			// A misspelt key names its line, column and key path.
			name: "misspelt key",
			body: "name: x\nduration: 1m\nsystem:\n  dynos:\n    wokers: 2\n",
			want: []string{"s.yaml:5:5", "system.dynos.wokers", `did you mean "workers"`},
		},
		{
			// A file that is not YAML at all.
			name: "not yaml",
			body: "name: [unclosed\nduration: 1m\n",
			want: []string{"s.yaml:", "not valid YAML"},
		},
		{
			// A toxic toxiproxy does not have.
			name: "unknown toxic",
			body: "duration: 1m\nfaults:\n  - {at: 10s, for: 10s, link: dyno->gateway, toxic: meteor}\n",
			want: []string{"s.yaml:3:", "faults[0].toxic", "meteor"},
		},
		{
			// A negative rate.
			name: "negative rate",
			body: "duration: 1m\nload:\n  rate: -5/s\n",
			want: []string{"s.yaml:3:", "load.rate"},
		},
		{
			// A fault on a link the system does not have.
			name: "unknown link",
			body: "duration: 1m\nfaults:\n  - {at: 10s, for: 10s, link: edge->moon, toxic: down}\n",
			want: []string{"s.yaml:3:", "faults[0].link", "edge->moon"},
		},
		{
			// An override of a key that does not exist.
			name: "bad --set",
			body: "duration: 1m\n",
			args: []string{"--set", "dynos.cuont=3"},
			want: []string{"dynos.cuont"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeScenario(t, tc.body)
			code, _, stderr := paydrill(t, append([]string{"run", path}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestValidateReportsEveryFile(t *testing.T) {
	good := writeScenario(t, "name: ok\nduration: 1m\nload: {rate: 5/s}\nexpect: [lost_orders == 0]\n")
	code, stdout, _ := paydrill(t, "validate", good)
	if code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("validate of a good file: exit %d, %q", code, stdout)
	}
	bad := filepath.Join("..", "fixtures", "scenarios", "bad", "many-errors.yaml")
	code, _, stderr := paydrill(t, "validate", good, bad)
	if code != 2 {
		t.Fatalf("validate with a bad file: exit %d, want 2", code)
	}
	if n := strings.Count(stderr, "many-errors.yaml:"); n < 3 {
		t.Fatalf("want every problem of the bad file reported, got %d lines:\n%s", n, stderr)
	}
}

func TestListNamesEveryBuiltin(t *testing.T) {
	code, stdout, _ := paydrill(t, "list")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, name := range []string{"baseline", "gateway-blackhole", "production-outage", "random-routing-backlog", "replay-without-dedupe", "similar-order-finder"} {
		if !strings.Contains(stdout, name) {
			t.Errorf("list does not show %s", name)
		}
	}
}

func TestServeBadSettingExitsTwoNamingIt(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "dyno", "--workers", "0"}, "--workers"},
		{[]string{"serve", "router", "--strategy", "psychic"}, "--strategy"},
		{[]string{"serve", "reconciler", "--match", "vibes", "--db", "http://127.0.0.1:1", "--gateway", "http://127.0.0.1:1"}, "--match"},
		{[]string{"serve", "dyno", "--config", `{"workers": 2, "backlgo": 1}`}, "backlgo"},
		{[]string{"serve", "gateway", "--latency", "lognormal:median=5ms"}, "--latency"},
		{[]string{"serve", "capture", "--ack", "eventually"}, "--ack"},
		{[]string{"serve", "nosuchrole"}, "nosuchrole"},
	}
	for _, tc := range tests {
		code, _, stderr := paydrill(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", tc.args, code, stderr, tc.want)
		}
	}
}

func TestServeHelpExplainsEverySetting(t *testing.T) {
	for _, role := range serveRoles() {
		code, stdout, _ := paydrill(t, "serve", role.Name, "--help")
		if code != 0 {
			t.Fatalf("serve %s --help: exit %d", role.Name, code)
		}
		cfg := role.New()
		b, _ := json.Marshal(cfg)
		var keys map[string]any
		_ = json.Unmarshal(b, &keys)
		for k := range keys {
			flag := "--" + strings.ReplaceAll(k, "_", "-")
			if !strings.Contains(stdout, flag) {
				t.Errorf("serve %s --help does not explain %s (JSON key %s)", role.Name, flag, k)
			}
		}
	}
}

func TestSameSeedSendsTheSameOrders(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the system three times")
	}
	t.Parallel()
	machine.Shared(t)
	scenario := writeScenario(t, "name: twice\nspeed: auto\nduration: 20s\nload: {rate: 10/s, customers: 30}\n")
	read := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "orders.ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		// Orders are logged as the load sends them; compare them as a set
		// ordered by index, since concurrent sends may log out of order.
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var o struct {
				Index int `json:"index"`
			}
			if err := json.Unmarshal([]byte(l), &o); err != nil {
				t.Fatal(err)
			}
			for len(lines) <= o.Index {
				lines = append(lines, "")
			}
			lines[o.Index] = l
		}
		return strings.Join(lines, "\n")
	}
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if code, _, stderr := paydrill(t, "run", scenario, "--seed", "9", "--out", dir, "--quiet"); code != 0 {
			t.Fatalf("run: exit %d: %s", code, stderr)
		}
	}
	if oa, ob := read(a), read(b); oa != ob || len(oa) == 0 {
		t.Fatal("the same seed sent different orders (ids, customers, amounts)")
	}
	c := t.TempDir()
	if code, _, _ := paydrill(t, "run", scenario, "--seed", "10", "--out", c, "--quiet"); code != 0 {
		t.Fatal("run with seed 10 failed")
	}
	if read(a) == read(c) {
		t.Fatal("different seeds sent the same orders")
	}
}

// A system larger than this process can hold is refused before anything
// starts, by validate (bad input: exit 2) and by run (cannot run here:
// exit 3) alike, with the key and how many fit.
func TestOversizedSystemIsRefusedSayingHowManyFit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(path, []byte("name: huge\nduration: 1m\nsystem:\n  dynos: {count: 20000}\nload: {rate: 5/s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
	}{{[]string{"validate", path}, 2}, {[]string{"run", path, "--quiet"}, 3}} {
		code, _, stderr := paydrill(t, c.args...)
		if code != c.code || !strings.Contains(stderr, "huge.yaml:4:18: system.dynos.count: 20000 dynos") ||
			!strings.Contains(stderr, "dynos of this kind fit here") {
			t.Errorf("%s: exit %d, %q; want %d naming the file, line and key and how many fit", c.args[0], code, stderr, c.code)
		}
	}
}
