package docker

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/testcontainers/testcontainers-go"

	"paydrill/harness"
	"paydrill/harness/embedded"
	"paydrill/harness/exit"
	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/internal/machine"
	"paydrill/internal/staticbin"
	"paydrill/scenarios"
	"paydrill/sim/dist"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// The docker tests need a Docker daemon (and build their image locally:
// nothing is pulled). Without one they skip, unless
// PAYDRILL_REQUIRE_DOCKER=1 (CI) makes them fail.

func requireDocker(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots containers; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := dockerClient(ctx)
	if err != nil {
		if os.Getenv("PAYDRILL_REQUIRE_DOCKER") == "1" {
			t.Fatalf("PAYDRILL_REQUIRE_DOCKER=1 and the docker runtime cannot run: %v", err)
		}
		t.Skipf("skipping the docker runtime's test: %v (PAYDRILL_REQUIRE_DOCKER=1 makes this a failure)", err)
	}
	cli.Close()
	machine.Exclusive(t)
}

// dockerTestLog is a Docker.Log that goes to the test's log, with the time
// since the test's start.
type dockerTestLog struct {
	t  testing.TB
	t0 time.Time
}

func newDockerTestLog(t testing.TB) dockerTestLog { return dockerTestLog{t, time.Now()} }

func (l dockerTestLog) Write(b []byte) (int, error) {
	l.t.Logf("%5.2fs %s", time.Since(l.t0).Seconds(), strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// testDocker is a client for the tests' own checks.
func testDocker(t testing.TB) *testcontainers.DockerClient {
	t.Helper()
	cli, err := dockerClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// testRunID is unique per test, so the labels a test checks are its own.
func dockerRunID(t testing.TB) string {
	return fmt.Sprintf("test-%s-%d", dockerName(strings.ToLower(t.Name())), time.Now().UnixNano()%1e9)
}

// labelled lists what still carries a label matching m ("k=v", or a
// prefix ending in "."), by kind, through the docker API.
func dockerLabelled(t testing.TB, cli *testcontainers.DockerClient, m string, withImages bool) []string {
	t.Helper()
	ctx := context.Background()
	match := labelMatcher(m)
	var out []string
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: match.filters()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if match.match(c.Labels) {
			out = append(out, "container "+strings.Join(c.Names, ","))
		}
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: match.filters()})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if match.match(n.Labels) {
			out = append(out, "network "+n.Name)
		}
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: match.filters()})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Volumes {
		if match.match(v.Labels) {
			out = append(out, "volume "+v.Name)
		}
	}
	if withImages {
		is, err := cli.ImageList(ctx, image.ListOptions{All: true, Filters: match.filters()})
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range is {
			if match.match(im.Labels) {
				out = append(out, fmt.Sprintf("image %s %v", shortID(im.ID), im.RepoTags))
			}
		}
	}
	return out
}

// dockerPlan is a small healthy system of 2 dynos in real time (speed 1),
// at a rate two shared cores keep up with while the tests' race detector
// runs, built from a scenario as a run builds it.
func dockerPlan(t testing.TB, d time.Duration, rate float64) *harness.Plan {
	t.Helper()
	s, err := scenarios.Parse("docker.yaml", []byte(fmt.Sprintf(`name: docker
seed: 3
speed: 1
duration: %s
system:
  dynos: {count: 2, service_time: {dist: const, value: 2ms}, backlog: 100000}
  gateway: {latency: {dist: const, value: 1ms}}
  edge: {failover_timeout: 30s}
  reconciler: {interval: 200ms}
load: {rate: %g/s, customers: 50, amount: "25.00", timeout: 5s}
settle: {timeout: 30s, quiet: 300ms}
`, scenarios.FormatDuration(d), rate)))
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Validate(); errs != nil {
		t.Fatal(errs)
	}
	p, err := harness.NewPlan(s, dockerRunID(t))
	if err != nil {
		t.Fatal(err)
	}
	p.Replayer.Interval = wire.Duration(100 * time.Millisecond)
	return p
}

func dockerGet(t testing.TB, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// dockerPostOrder sends the i-th order of a small seeded source to the
// edge and returns the answer's status.
func dockerPostOrder(ctx context.Context, edge string, i int) (int, error) {
	o := load.OrderSource{Seed: 1, Customers: 10, Amount: dist.Const{Value: 1000}}.Order(i)
	req, err := load.OrderRequest(ctx, edge, o)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestDockerStartBuildsTheSystemInHardenedContainers boots the system and
// checks its shape: one container per component (n dynos = n containers)
// plus toxiproxy, all on the run's own network under their alias, as
// 65534 with a read-only root filesystem, ports published on 127.0.0.1
// only; every link through toxiproxy; container faults that keep the
// published URLs; and nothing left once closed.
func TestDockerStartBuildsTheSystemInHardenedContainers(t *testing.T) {
	requireDocker(t)
	cli := testDocker(t)
	ctx := context.Background()
	p := dockerPlan(t, time.Second, 10)
	p.ProxyEvery = true // every relay, so the test sees each one wired
	dir := t.TempDir()
	began := time.Now()
	sys, err := Runtime{Log: newDockerTestLog(t)}.Start(ctx, p.Topology(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %v", time.Since(began))
	closed := false
	defer func() {
		if !closed {
			sys.Close()
		}
	}()

	roles := []string{"gateway", "db", "capture", "dyno[1]", "dyno[2]", "router", "edge", "replayer", "reconciler"}
	for _, role := range roles {
		u := sys.URL(role)
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("%s at %q, want a 127.0.0.1 URL", role, u)
		}
		if code := dockerGet(t, u+wire.PathHealthz); code != http.StatusOK {
			t.Fatalf("%s /healthz: %d", role, code)
		}
	}
	if len(sys.Components) != len(roles) || sys.Edge != sys.URL("edge") || sys.Dynos != 2 {
		t.Fatalf("components %v, edge %s, dynos %d", sys.Components, sys.Edge, sys.Dynos)
	}
	wantLinks := []string{"dyno->db", "dyno->gateway", "edge->capture", "edge->router", "reconciler->gateway",
		"replayer->router", "router->dyno", "router->dyno[1]", "router->dyno[2]"}
	if got := sys.Links.Names(); !slices.Equal(got, wantLinks) {
		t.Fatalf("links %v, want %v", got, wantLinks)
	}

	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", labelRun+"="+p.RunID))})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != len(roles)+1 {
		t.Fatalf("%d containers, want %d (every component and toxiproxy)", len(cs), len(roles)+1)
	}
	var networks []string
	for _, c := range cs {
		in, err := cli.ContainerInspect(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		role := in.Config.Labels[labelRole]
		if in.Config.User != runAsUser || !in.HostConfig.ReadonlyRootfs {
			t.Errorf("%s runs as %q, read-only root %v: want %s, true", role, in.Config.User, in.HostConfig.ReadonlyRootfs, runAsUser)
		}
		for port, bs := range in.NetworkSettings.Ports {
			for _, b := range bs {
				if b.HostIP != "127.0.0.1" {
					t.Errorf("%s publishes %s on %q, want 127.0.0.1 only", role, port, b.HostIP)
				}
			}
		}
		if len(in.NetworkSettings.Networks) != 1 {
			t.Errorf("%s is on networks %v, want only the run's", role, in.NetworkSettings.Networks)
		}
		for name, ep := range in.NetworkSettings.Networks {
			networks = append(networks, name)
			want := roleFile(role)
			if !slices.Contains(ep.Aliases, want) {
				t.Errorf("%s has aliases %v, want %s", role, ep.Aliases, want)
			}
		}
		hasData := slices.ContainsFunc(in.Mounts, func(m container.MountPoint) bool { return m.Destination == "/data" && m.RW })
		stateful := map[string]bool{"gateway": true, "db": true, "capture": true, "replayer": true, "reconciler": true}[role]
		if hasData != stateful {
			t.Errorf("%s: /data volume %v, want %v", role, hasData, stateful)
		}
	}
	slices.Sort(networks)
	if networks = slices.Compact(networks); len(networks) != 1 {
		t.Fatalf("containers on networks %v, want one", networks)
	}

	// An order through every link.
	if code, err := dockerPostOrder(ctx, sys.Edge, 0); err != nil || code != http.StatusCreated {
		t.Fatalf("first order: %d %v", code, err)
	}

	// Container faults: the URLs stay put, and stores survive.
	capture := sys.URL("capture")
	for _, f := range [][2]string{{"capture", "stop"}, {"capture", "unstop"}, {"dyno", "kill"}, {"dyno", "unkill"},
		{"router", "pause"}, {"router", "unpause"}, {"dyno[2]", "restart"}} {
		if err := sys.Container(ctx, f[0], f[1]); err != nil {
			t.Fatalf("%s %s: %v", f[1], f[0], err)
		}
	}
	if err := sys.Container(ctx, "toxiproxy", "kill"); err == nil {
		t.Fatal("kill toxiproxy: no error, want no such target")
	}
	if sys.URL("capture") != capture {
		t.Fatalf("capture moved from %s to %s", capture, sys.URL("capture"))
	}
	if code, err := dockerPostOrder(ctx, sys.Edge, 1); err != nil || code != http.StatusCreated {
		t.Fatalf("order after the faults: %d %v", code, err)
	}
	ledger, err := service.Fetch[wire.Charge](ctx, http.DefaultClient, sys.URL("gateway")+wire.PathExport)
	if err != nil || len(ledger) != 2 {
		t.Fatalf("ledger %d charges, %v: want 2", len(ledger), err)
	}

	closed = true
	if err := sys.Close(); err != nil {
		t.Fatal(err)
	}
	if left := dockerLabelled(t, cli, labelRun+"="+p.RunID, false); len(left) > 0 {
		t.Fatalf("left behind after Close: %v", left)
	}
	for _, f := range []string{"stores/gateway.sqlite", "stores/orders.sqlite", "stores/capture.sqlite", "logs/edge.log", "logs/dyno-2.log"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory: %v", err)
		}
	}
}

// BenchmarkRuntimeFirstOrder times, per runtime, from Start to the first order
// the edge answers 201 (every component healthy first, as Run waits):
// docker with its image already built, docker building its image
// (removed before each iteration; the binary is built once per process),
// and embedded.
func BenchmarkRuntimeFirstOrder(b *testing.B) {
	cases := []struct {
		name       string
		rt         system.Runtime
		buildImage bool
	}{
		{"embedded", embedded.Runtime{}, false},
		{"docker", Runtime{}, false},
		{"docker-image-build", Runtime{}, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.rt.Name() == "docker" {
				requireDocker(b)
			}
			ctx := context.Background()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				p := dockerPlan(b, time.Second, 10)
				dir := b.TempDir()
				if c.buildImage {
					removeDockerImages(b)
				}
				b.StartTimer()
				began := time.Now()
				sys, err := c.rt.Start(ctx, p.Topology(), dir)
				if err != nil {
					b.Fatal(err)
				}
				if err := harness.WaitHealthy(ctx, &http.Client{Timeout: 10 * time.Second}, sys); err != nil {
					b.Fatal(err)
				}
				for n := 0; ; n++ {
					code, err := dockerPostOrder(ctx, sys.Edge, n)
					if err == nil && code == http.StatusCreated {
						break
					}
					if time.Since(began) > time.Minute {
						b.Fatalf("no order answered in a minute: %d %v", code, err)
					}
					time.Sleep(10 * time.Millisecond)
				}
				total += time.Since(began)
				b.StopTimer()
				if err := sys.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/first-order")
		})
	}
}

// removeImages removes paydrill's images (only: containers inherit the
// image's labels), so the next Start builds one.
func removeDockerImages(t testing.TB) {
	t.Helper()
	cli := testDocker(t)
	ctx := context.Background()
	is, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", labelImage+"=1"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range is {
		if _, err := cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDockerRunChargesEveryOrderOnce is a small healthy run through
// harness.Run: every order succeeds and is charged once, the result has
// the embedded runtime's shape, and nothing of the run is left.
func TestDockerRunChargesEveryOrderOnce(t *testing.T) {
	requireDocker(t)
	cli := testDocker(t)
	p := dockerPlan(t, 3*time.Second, 30)
	dir := t.TempDir()
	r, err := harness.Run(context.Background(), p, harness.Options{Runtime: Runtime{Log: newDockerTestLog(t)}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sent %d, succeeded %d, charges %d, p99 %.0fms, wall %.1fs", r.Orders.Sent, r.Orders.Succeeded, r.Charges, r.LatencyMS.P99, r.Harness.WallS)
	if r.Runtime != "docker" {
		t.Fatalf("runtime %q", r.Runtime)
	}
	if r.Orders.Sent < 80 || r.Orders.Succeeded != r.Orders.Sent || r.Charges != r.Orders.Succeeded {
		t.Fatalf("sent %d, succeeded %d, charges %d: want about 90, all succeeded, charged once each", r.Orders.Sent, r.Orders.Succeeded, r.Charges)
	}
	if r.Failovers != 0 || r.DoubleCharges+r.PhantomCharges+r.LostOrders+r.Unreconciled+r.WrongMatches != 0 {
		t.Fatalf("anomalies in a healthy run: failovers %d, %+v", r.Failovers, r.Anomalies)
	}
	if !r.Harness.Settled {
		t.Fatalf("did not settle: %v", r.Harness.Notes)
	}
	if left := dockerLabelled(t, cli, labelRun+"="+p.RunID, false); len(left) > 0 {
		t.Fatalf("left behind after the run: %v", left)
	}
	for _, f := range []string{"exports/capture.ndjson", "exports/dyno-2.ndjson", "stores/gateway.sqlite", "stores/orders.sqlite"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory: %v", err)
		}
	}
}

// TestDockerKilledCaptureKeepsEveryOrderItAcknowledged makes production
// unreachable, so every order fails over to capture, and kills capture's
// container for a moment under that load: every order it acknowledged
// before is still in its store (on its volume) when it is started again,
// so no order is lost.
func TestDockerKilledCaptureKeepsEveryOrderItAcknowledged(t *testing.T) {
	requireDocker(t)
	p := dockerPlan(t, 4*time.Second, 25)
	p.Faults = []fault.Plan{
		{Index: 1, Link: "edge->router", Toxic: "down", At: 100 * time.Millisecond},
		{Index: 2, Link: "capture", Toxic: "kill", At: 1500 * time.Millisecond, For: time.Second},
	}
	dir := t.TempDir()
	r, err := harness.Run(context.Background(), p, harness.Options{Runtime: Runtime{Log: newDockerTestLog(t)}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sent %d, succeeded %d, errored %d, failovers %d, charges %d, replays %+v, outages %+v, wall %.1fs",
		r.Orders.Sent, r.Orders.Succeeded, r.Orders.Errored, r.Failovers, r.Charges, r.Replays, r.Outages, r.Harness.WallS)
	for _, o := range r.Outages {
		if o.Error != "" {
			t.Fatalf("fault %d (%s %s): %s", o.Fault, o.Toxic, o.Link, o.Error)
		}
	}
	// The orders sent between the cut (0.1 s) and the kill (1.5 s), about
	// 35, all fail over. Those sent while capture is dead or starting
	// again wait for it or fail, as the speed of docker's restart has it
	// (from 5 to 60 of the 100 seen): either way the client is told, and
	// nothing acknowledged may be lost.
	if r.Failovers < 30 {
		t.Fatalf("failovers = %d with production unreachable, want at least the 30-odd orders sent before capture was killed", r.Failovers)
	}
	// Killed and started again: the same container, its log holds both
	// lives.
	logs, err := os.ReadFile(filepath.Join(dir, "logs", "capture.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(logs), "listening on"); n != 2 {
		t.Fatalf("capture started %d times, want 2 (killed, then started again):\n%s", n, logs)
	}
	if r.LostOrders != 0 {
		t.Fatalf("lost %d orders capture acknowledged: %+v", r.LostOrders, r.Anomalies)
	}

	// Capture's own export, read after it was killed and started again,
	// holds every order the client was told capture took.
	captured, err := dockerReadNDJSON[wire.CapturedRequest](filepath.Join(dir, "exports", "capture.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	for _, c := range captured {
		held[c.RequestID] = true
	}
	acked := 0
	for _, o := range dockerSentByCapture(t, dir) {
		acked++
		if !held[o] {
			t.Errorf("order %s acknowledged by capture is not in its store", o)
		}
	}
	if acked != r.Failovers || acked == 0 {
		t.Fatalf("%d orders acknowledged by capture, result says %d failovers", acked, r.Failovers)
	}
	// Every acknowledged order replayed and charged once. An order capture
	// stored but was killed before answering is charged too, and the
	// client was told it failed: a phantom charge, which is what the
	// checker calls it.
	if r.DoubleCharges != 0 || r.Unreconciled != 0 || r.Charges != r.Orders.Succeeded+r.PhantomCharges {
		t.Fatalf("charges %d for %d succeeded orders and %d phantom (%d double, %d unreconciled): every acknowledged order should be replayed and charged once",
			r.Charges, r.Orders.Succeeded, r.PhantomCharges, r.DoubleCharges, r.Unreconciled)
	}
}

func dockerReadNDJSON[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return service.ReadNDJSON[T](f)
}

// sentByCapture returns the request ids of the orders the client saw
// succeed with capture's answer, from the run's vegeta results.
func dockerSentByCapture(t testing.TB, dir string) []string {
	t.Helper()
	type result struct {
		Code    int         `json:"code"`
		Headers http.Header `json:"headers"`
	}
	results, err := dockerReadNDJSON[result](filepath.Join(dir, "results.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range results {
		if r.Code >= 200 && r.Code < 300 && r.Headers.Get(wire.HeaderAnsweredBy) == wire.AnsweredByCapture {
			out = append(out, r.Headers.Get(wire.HeaderRequestID))
		}
	}
	return out
}

// TestDockerImageIsBuiltOnceFromScratch checks the image: a static binary
// as entrypoint, an unprivileged user, paydrill's labels, tagged by
// content, and not built again when it exists.
func TestDockerImageIsBuiltOnceFromScratch(t *testing.T) {
	requireDocker(t)
	cli := testDocker(t)
	ctx := context.Background()
	tag, err := images.ensure(ctx, cli, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if in.Config.User != runAsUser || !slices.Equal(in.Config.Entrypoint, []string{"/paydrill"}) ||
		in.Config.Labels[labelImage] != "1" || !strings.HasPrefix(in.Config.Labels["paydrill.content"], strings.TrimPrefix(tag, imageRepo+":")) {
		t.Fatalf("image %s: user %q, entrypoint %v, labels %v", tag, in.Config.User, in.Config.Entrypoint, in.Config.Labels)
	}
	if len(in.RootFS.Layers) != 2 { // /data, /paydrill: nothing from a base image
		t.Fatalf("image %s has %d layers, want 2 (FROM scratch: /data and the binary)", tag, len(in.RootFS.Layers))
	}
	if !staticbin.IsStatic(images.bin, in.Architecture) {
		t.Fatalf("%s is not a static paydrill binary for linux/%s", images.bin, in.Architecture)
	}
	var log bytes.Buffer
	again, err := images.ensure(ctx, cli, &log)
	if err != nil {
		t.Fatal(err)
	}
	if again != tag || log.Len() != 0 {
		t.Fatalf("second ensure: %s (first %s), said %q: want the same image, nothing built", again, tag, log.String())
	}
}

// dockerCancelAfterStart is the docker runtime whose run is interrupted (as by
// Ctrl-C) a moment after it started, or during its start.
type dockerCancelAfterStart struct {
	Runtime
	cancel context.CancelFunc
	after  time.Duration
}

func (c dockerCancelAfterStart) Start(ctx context.Context, topo *topology.Topology, dir string) (*system.System, error) {
	time.AfterFunc(c.after, c.cancel)
	return c.Runtime.Start(ctx, topo, dir)
}

// TestDockerInterruptedRunLeavesNothing interrupts a run while its
// containers are being created and while its load runs: the run fails and
// removes everything it created either way.
func TestDockerInterruptedRunLeavesNothing(t *testing.T) {
	requireDocker(t)
	cli := testDocker(t)
	if _, err := images.ensure(context.Background(), cli, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		after time.Duration
	}{{"during start", 800 * time.Millisecond}, {"during load", 5 * time.Second}} {
		ctx, cancel := context.WithCancel(context.Background())
		p := dockerPlan(t, 4*time.Second, 20)
		began := time.Now()
		_, err := harness.Run(ctx, p, harness.Options{Runtime: dockerCancelAfterStart{Runtime{Log: newDockerTestLog(t)}, cancel, c.after}, Dir: t.TempDir()})
		cancel()
		t.Logf("%s: %v after %v", c.name, err, time.Since(began))
		if err == nil || exit.Code(err) != exit.CodeCannotRun {
			t.Fatalf("%s: err = %v, want the run interrupted", c.name, err)
		}
		if left := dockerLabelled(t, cli, labelRun+"="+p.RunID, false); len(left) > 0 {
			t.Fatalf("%s: left behind: %v", c.name, left)
		}
	}
}

// TestDockerCleanRemovesWhatACrashedRunLeft starts a system and abandons
// it, as a process killed outright would: Clean removes its containers,
// network and volumes, and paydrill's image cache, until nothing labelled
// paydrill.* remains. (It runs last: the next run builds the image again.)
func TestDockerCleanRemovesWhatACrashedRunLeft(t *testing.T) {
	requireDocker(t)
	cli := testDocker(t)
	ctx := context.Background()
	p := dockerPlan(t, time.Second, 10)
	if _, err := (Runtime{Log: newDockerTestLog(t)}).Start(ctx, p.Topology(), ""); err != nil { // never closed
		t.Fatal(err)
	}
	left := dockerLabelled(t, cli, labelRun+"="+p.RunID, false)
	if len(left) != 10+1+5 {
		t.Fatalf("the abandoned run holds %v, want 10 containers, 1 network, 5 volumes", left)
	}
	var out bytes.Buffer
	if err := Clean(ctx, &out); err != nil {
		t.Fatal(err)
	}
	t.Logf("clean: %s", out.String())
	if !strings.HasPrefix(out.String(), "removed ") {
		t.Errorf("clean said %q", out.String())
	}
	if left := dockerLabelled(t, cli, labelPrefix, true); len(left) > 0 {
		t.Fatalf("labelled paydrill.* after clean: %v", left)
	}
	out.Reset()
	if err := Clean(ctx, &out); err != nil || out.String() != "nothing to remove\n" {
		t.Fatalf("second clean: %q, %v", out.String(), err)
	}
}
