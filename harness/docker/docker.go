// Package docker is the runtime that realises a topology in containers:
// Runtime runs every instance in its own container (n dynos = n
// containers) from one locally built FROM-scratch image (image.go),
// on a private bridge network created for the run where containers find
// each other by alias ("gateway", "db", "capture", "dyno-1", "router",
// "edge", "replayer", "reconciler", "toxiproxy"). Toxiproxy's server runs in
// a container of its own (`paydrill serve toxiproxy`), and every link passes
// through it exactly as in the embedded runtime: its proxies listen on fixed
// ports inside the network (9001... for shared links, 10000+i for
// router->dyno[i]) and the components are given "http://toxiproxy:PORT".
//
// From the host, the harness reaches each container through a port
// published on 127.0.0.1 only: the component's 8080 (System.Components) and
// toxiproxy's API. Each published port is chosen by the harness and pinned
// in the container's port binding, so a container stopped (or killed) and
// started again gets the same host port back: System.Components and
// System.Edge never change once Start has returned.
//
// Every container runs as 65534:65534 with a read-only root filesystem, no
// capabilities and no-new-privileges; the stateful components (gateway, db,
// capture, replayer, reconciler) keep their SQLite store on a named volume
// of their own mounted at /data, so a container killed and started again
// keeps every record it committed.
//
// Every container, network and volume is labelled paydrill.run=<run id>
// and paydrill.system=<this boot's unique id>; Close (and a failed or
// cancelled Start) copies the stores and container logs into the run's
// directory, then removes everything labelled with this boot's id. What a
// crashed process left behind, `paydrill clean` (Clean) removes.
//
// The harness sets TESTCONTAINERS_RYUK_DISABLED=true (no reaper image can
// be pulled: labels and Clean replace it) and
// TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 when they are not set.
package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/db"
	"paydrill/sim/wire"
)

// Runtime runs a topology in containers; its zero value is ready to use.
type Runtime struct {
	// Log, when not nil, is told what is being built and torn down.
	Log io.Writer
}

var _ system.Runtime = Runtime{}

// Name is "docker".
func (Runtime) Name() string { return "docker" }

// Supports every link and container fault: link faults through its
// toxiproxy container, and container faults on the containers themselves
// (a region's: on every container of the region), and a standby region,
// whose deferred containers do not exist until it is provisioned. It has
// no cluster: no Kubernetes fault (pod-kill, node-drain, zone-outage,
// scale), and no redundancy settings (its containers are not placed on
// nodes and zones).
func (Runtime) Supports(kind string) bool {
	if kind == system.FeatureRedundancy {
		return false
	}
	k, ok := scenarios.LookupFaultKind(kind)
	return !ok || !k.Kubernetes
}

// SpeedLimit is the highest speed the docker runtime runs a
// scenario at unless the user chose the speed (Options.KeepSpeed). Each
// hop between containers crosses processes and the toxiproxy container:
// a dyno's db and gateway round trips take 1 to 5 ms of wall time, against
// 0.2 to 0.5 ms in-process. At the built-ins' speed 20 that real work
// outran the compressed service times (a 50 ms service is 2.5 ms of wall
// time) and added 54% to 685% to the mean queue time, so every built-in
// with short queues was saturated; at 10 it still added 30% to 160%
// (capture-crash passed the saturation check once and failed it once); at
// 5, 3%, with production-outage's figures identical to the embedded
// runtime's at 20.
const SpeedLimit = 5

// SpeedLimit is SpeedLimit.
func (Runtime) SpeedLimit() float64 { return SpeedLimit }

func (d Runtime) logf(format string, args ...any) {
	if d.Log != nil {
		fmt.Fprintf(d.Log, format+"\n", args...)
	}
}

// Labels on everything a run creates.
const (
	labelRun    = "paydrill.run"    // the harness's run id (Plan.RunID)
	labelSystem = "paydrill.system" // unique per Start: what Close removes
	labelRole   = "paydrill.role"   // the component in a container or volume
	labelPrefix = "paydrill."       // what Clean removes
)

// Ports inside the run's network.
const (
	componentPort = 8080
	toxiproxyPort = 8474
)

// Timeouts of the container lifecycle.
const (
	dockerReadyTimeout = 60 * time.Second
	dockerStopTimeout  = 3 // seconds a container has to exit on SIGTERM
	dockerTeardown     = 2 * time.Minute
)

// dockerEnvOnce sets testcontainers' settings this machine needs, before
// its configuration is first read: no reaper (its image cannot be pulled),
// and published ports reached on 127.0.0.1 (testcontainers otherwise
// believes it runs inside a container, /.dockerenv existing, and dials the
// default gateway).
var dockerEnvOnce sync.Once

func dockerEnv() {
	dockerEnvOnce.Do(func() {
		for k, v := range map[string]string{
			"TESTCONTAINERS_RYUK_DISABLED": "true",
			"TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
		} {
			if _, ok := os.LookupEnv(k); !ok {
				os.Setenv(k, v)
			}
		}
	})
}

// ErrNoDaemon is wrapped by the error of a docker runtime that finds no
// Docker daemon answering.
var ErrNoDaemon = errors.New("no Docker daemon answers")

// dockerClient connects to the Docker daemon the way testcontainers does
// (DOCKER_HOST, docker context, default socket...) and checks it answers.
func dockerClient(ctx context.Context) (cli *testcontainers.DockerClient, err error) {
	dockerEnv()
	defer func() {
		// testcontainers panics when it finds no Docker host at all.
		if r := recover(); r != nil {
			cli, err = nil, fmt.Errorf("docker: %w: %v", ErrNoDaemon, r)
		}
	}()
	cli, err = testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker: %w: %v", ErrNoDaemon, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker: %w: %v", ErrNoDaemon, err)
	}
	return cli, nil
}

// Start builds the image if needed, creates the run's network and volumes,
// starts toxiproxy and every component in parallel, creates every link's
// proxy, and waits until each container answers its health probe.
func (d Runtime) Start(ctx context.Context, topo *topology.Topology, dir string) (sys *system.System, err error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	tag, err := images.ensure(ctx, cli, d.Log)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker: %w", err)
	}
	d.logf("docker: image %s ready in %.1fs", tag, time.Since(began).Seconds())
	run := newDockerRun(cli, topo.RunID, dir, d.Log)
	booting := &system.System{Components: map[string]string{}, Dynos: topo.Dynos(), Container: run.fault,
		Stores: filepath.Join(dir, "stores")}
	booting.OnClose(run.teardown)
	sys = booting
	defer func() {
		if err != nil {
			// Also when Start is interrupted: teardown has its own context.
			if cerr := booting.Close(); cerr != nil {
				err = fmt.Errorf("%w (and tearing down: %v)", err, cerr)
			}
			sys = nil
		}
	}()
	if err := run.createNetwork(ctx); err != nil {
		return nil, err
	}

	all := dockerSpecs(topo, dir)
	var specs, deferred []*dockerSpec
	for _, s := range all {
		if s.deferred {
			deferred = append(deferred, s)
		} else {
			specs = append(specs, s)
		}
	}
	for _, s := range specs {
		if s.store != "" {
			if err := run.createVolume(ctx, s); err != nil {
				return nil, err
			}
		}
	}
	tp := &dockerSpec{role: "toxiproxy", alias: "toxiproxy", port: toxiproxyPort, ready: "/version",
		args: []string{"serve", "toxiproxy", "--listen", fmt.Sprintf("0.0.0.0:%d", toxiproxyPort)}}

	// Every component is told its peers' in-network addresses up front, so
	// they all start at once; toxiproxy's proxies are created as soon as
	// its API answers, meanwhile.
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		errs  []error
		sem   = make(chan struct{}, 12)
	)
	fail := func(err error) {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
	}
	startCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, s := range append([]*dockerSpec{tp}, specs...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			err := run.startContainer(startCtx, tag, s)
			<-sem
			if err == nil && s == tp {
				booting.Links, err = dockerLinks(run.comp("toxiproxy").hostAddr(), topo)
			}
			if err != nil {
				fail(err)
				cancel() // one failure is enough: stop starting the others
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("docker: start interrupted: %w", err)
	}
	if len(errs) > 0 {
		// The first error is the cause; the others are mostly "context canceled".
		return nil, errs[0]
	}
	for _, s := range specs {
		booting.Components[s.role] = run.comp(s.role).url()
	}
	booting.Edge = booting.Components[topology.RoleEdge]
	booting.Peer = func(name string) string { return dockerAddrs{}.Direct(topo.Instance(name)) }
	booting.Provision = func(ctx context.Context, region string) error {
		return run.provision(ctx, booting, topo, tag, deferred, region)
	}
	run.booted.Store(true)
	d.logf("docker: %s: %d containers up in %.1fs", run.id, len(specs)+1, time.Since(began).Seconds())
	return booting, nil
}

// dockerSpec is one container to run.
type dockerSpec struct {
	role  string   // "gateway", "dyno[2]", "toxiproxy"
	alias string   // its name on the run's network: "gateway", "dyno-2"
	port  int      // the port it listens on inside the network
	ready string   // the path that answers 200 when it is up
	args  []string // after the entrypoint (/paydrill)
	store string   // the store's file name under /data; "" when stateless
	// deferred: started when its region is provisioned; region is the
	// instance's ("" outside the regions).
	deferred bool
	region   string
	// restore is a host file sent to the db's POST /admin/restore once
	// its container runs (a cold standby db's backup); "" none.
	restore string
}

// dockerSpecs is a container per instance of the topology, each told the
// in-network address of its peers: the toxiproxy container's port of a
// proxied link, else the peer's alias.
func dockerSpecs(topo *topology.Topology, dir string) []*dockerSpec {
	var out []*dockerSpec
	for _, in := range topo.Instances {
		cfg := topo.Config(in, dockerAddrs{})
		restore := ""
		if dc, ok := cfg.(*db.Config); ok && dc.Restore != "" {
			// The harness writes the backup beside the stores on the
			// host; it is sent to the db once its container runs (a
			// read-only container takes no file copied in).
			restore, dc.Restore = filepath.Join(dir, "stores", path.Base(dc.Restore)), ""
		}
		b, err := json.Marshal(cfg)
		if err != nil {
			panic(fmt.Sprintf("docker: %s config: %v", in.Name, err)) // plain structs: cannot fail
		}
		out = append(out, &dockerSpec{
			role: in.Name, alias: in.Alias, port: componentPort, ready: wire.PathHealthz, store: in.Store,
			args:     []string{"serve", in.Component, "--listen", fmt.Sprintf("0.0.0.0:%d", componentPort), "--config", string(b)},
			deferred: in.Deferred, region: in.Region, restore: restore,
		})
	}
	return out
}

// provision starts region's deferred containers (creating their volumes,
// a cold db's backup copied in), waits until each is ready, creates
// their links' relays, and tells the running ones about them.
func (r *dockerRun) provision(ctx context.Context, sys *system.System, topo *topology.Topology, tag string,
	deferred []*dockerSpec, region string) error {
	r.provisioning.Lock()
	defer r.provisioning.Unlock()
	var todo []*dockerSpec
	for _, s := range deferred {
		if s.region == region && r.comp(s.role) == nil {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	began := time.Now()
	for _, s := range todo {
		if s.store != "" {
			if err := r.createVolume(ctx, s); err != nil {
				return err
			}
		}
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 12)
	for i, s := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = r.startContainer(ctx, tag, s)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, s := range todo {
		if s.restore != "" {
			if err := system.RestoreBackup(ctx, r.comp(s.role).url(), s.restore); err != nil {
				return fmt.Errorf("docker: restoring %s: %w", s.role, err)
			}
		}
	}
	_, links := topo.Deferred(region)
	for _, l := range links {
		if !l.Proxied {
			continue
		}
		up := fmt.Sprintf("%s:%d", topo.Instance(l.To).Alias, componentPort)
		if _, err := sys.Links.Proxy(l.Name, fmt.Sprintf("0.0.0.0:%d", l.Port), up, l.Names()[1:]...); err != nil {
			return err
		}
	}
	for _, s := range todo {
		sys.SetURL(s.role, r.comp(s.role).url())
	}
	if r.log != nil {
		fmt.Fprintf(r.log, "docker: %s: %s region provisioned, %d containers in %.1fs\n", r.id, region, len(todo), time.Since(began).Seconds())
	}
	return sys.Rewire(ctx, topo.Rewire(region, dockerAddrs{}))
}

// dockerAddrs are the addresses inside the run's network.
type dockerAddrs struct{}

func (dockerAddrs) Direct(in topology.Instance) string {
	return fmt.Sprintf("http://%s:%d", in.Alias, componentPort)
}

func (dockerAddrs) Store(in topology.Instance) string { return "/data/" + in.Store }

func (a dockerAddrs) Link(l topology.Link) string {
	if !l.Proxied {
		return fmt.Sprintf("http://%s:%d", aliasOf(l.To), componentPort)
	}
	return fmt.Sprintf("http://toxiproxy:%d", l.Port)
}

// aliasOf is the alias of the instance named name: "dyno[2]" is
// "dyno-2", "standby.dyno[2]" is "standby-dyno-2".
func aliasOf(name string) string {
	name = strings.ReplaceAll(name, ".", "-")
	if base, i, ok := topology.SplitIndexed(name); ok {
		return fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// dockerLinks creates the relay of every proxied link of the topology in
// the toxiproxy container (API at apiAddr, a published 127.0.0.1 port).
func dockerLinks(apiAddr string, topo *topology.Topology) (*system.Links, error) {
	links := system.NewLinks(toxiclient.NewClient(apiAddr))
	for _, l := range topo.Proxied() {
		if l.Deferred {
			continue // created when its region is provisioned
		}
		up := fmt.Sprintf("%s:%d", topo.Instance(l.To).Alias, componentPort)
		if _, err := links.Proxy(l.Name, fmt.Sprintf("0.0.0.0:%d", l.Port), up, l.Names()[1:]...); err != nil {
			return nil, err
		}
	}
	return links, nil
}

// dockerRun is everything one Start created.
type dockerRun struct {
	cli    *testcontainers.DockerClient
	runID  string
	id     string // unique per Start: the paydrill.system label, and every name's prefix
	dir    string
	log    io.Writer
	labels map[string]string

	network string
	booted  atomic.Bool // Start succeeded: the teardown keeps the stores

	provisioning sync.Mutex // one region provisioned at a time

	mu    sync.Mutex
	comps map[string]*dockerComp // by role
	ports []int                  // host ports reserved by this run
}

// dockerComp is one running container.
type dockerComp struct {
	spec     *dockerSpec
	c        testcontainers.Container
	hostPort int
}

func (c *dockerComp) hostAddr() string { return "127.0.0.1:" + strconv.Itoa(c.hostPort) }
func (c *dockerComp) url() string      { return "http://" + c.hostAddr() }

func newDockerRun(cli *testcontainers.DockerClient, runID, dir string, log io.Writer) *dockerRun {
	var b [3]byte
	_, _ = rand.Read(b[:])
	base := dockerName(runID)
	if base == "" {
		base = "run"
	}
	id := base + "-" + hex.EncodeToString(b[:])
	return &dockerRun{
		cli: cli, runID: runID, id: id, dir: dir, log: log,
		labels: map[string]string{labelRun: runID, labelSystem: id},
		comps:  map[string]*dockerComp{},
	}
}

// dockerName keeps the characters Docker allows in names.
func dockerName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-._")
}

func (r *dockerRun) comp(role string) *dockerComp {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.comps[role]
}

func (r *dockerRun) name(alias string) string { return "paydrill-" + r.id + "-" + alias }

func (r *dockerRun) labelsWith(role string) map[string]string {
	out := map[string]string{labelRole: role}
	for k, v := range r.labels {
		out[k] = v
	}
	return out
}

func (r *dockerRun) createNetwork(ctx context.Context) error {
	name := r.name("net")
	if _, err := r.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: r.labels}); err != nil {
		return fmt.Errorf("docker: creating network %s: %w", name, err)
	}
	r.network = name
	return nil
}

func (r *dockerRun) volumeName(s *dockerSpec) string { return r.name(s.alias + "-data") }

func (r *dockerRun) createVolume(ctx context.Context, s *dockerSpec) error {
	name := r.volumeName(s)
	if _, err := r.cli.VolumeCreate(ctx, volumeCreateOptions(name, r.labelsWith(s.role))); err != nil {
		return fmt.Errorf("docker: creating volume %s: %w", name, err)
	}
	return nil
}

// startContainer runs s, retrying with another host port when the one
// chosen was taken meanwhile, and waits until it answers s.ready.
func (r *dockerRun) startContainer(ctx context.Context, tag string, s *dockerSpec) error {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		hostPort, err := r.reservePort()
		if err != nil {
			return err
		}
		c, err := testcontainers.GenericContainer(ctx, r.request(tag, s, hostPort, attempt))
		if err == nil {
			r.mu.Lock()
			r.comps[s.role] = &dockerComp{spec: s, c: c, hostPort: hostPort}
			r.mu.Unlock()
			return nil
		}
		lastErr = fmt.Errorf("docker: starting %s: %w", s.role, err)
		if ctx.Err() != nil {
			return lastErr // the teardown removes it, by its labels
		}
		if c == nil {
			return lastErr
		}
		if !portTaken(err) {
			if logs := containerLogs(ctx, r.cli, c.GetContainerID(), 20); logs != "" {
				lastErr = fmt.Errorf("%w\n%s's last words:\n%s", lastErr, s.role, logs)
			}
			return lastErr
		}
		// Its port was taken meanwhile: try another one.
		_ = c.Terminate(ctx, testcontainers.StopTimeout(0))
	}
	return lastErr
}

// portTaken says whether a start failed on its host port being taken.
func portTaken(err error) bool {
	s := err.Error()
	return strings.Contains(s, "port is already allocated") || strings.Contains(s, "address already in use")
}

// request is the container of s, its port published on 127.0.0.1:hostPort.
func (r *dockerRun) request(tag string, s *dockerSpec, hostPort, attempt int) testcontainers.GenericContainerRequest {
	name := r.name(s.alias)
	if attempt > 0 {
		name += "-" + strconv.Itoa(attempt)
	}
	var volume string
	if s.store != "" {
		volume = r.volumeName(s)
	}
	port := nat.Port(fmt.Sprintf("%d/tcp", s.port))
	return testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:          tag,
			Name:           name,
			Cmd:            s.args,
			Labels:         r.labelsWith(s.role),
			ExposedPorts:   []string{fmt.Sprintf("127.0.0.1:%d:%s", hostPort, port)},
			Networks:       []string{r.network},
			NetworkAliases: map[string][]string{r.network: {s.alias}},
			WaitingFor: wait.ForHTTP(s.ready).WithPort(port).
				WithStartupTimeout(dockerReadyTimeout).WithPollInterval(50 * time.Millisecond),
			ConfigModifier: func(c *container.Config) {
				c.User = runAsUser
			},
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.NetworkMode = container.NetworkMode(r.network)
				hc.ReadonlyRootfs = true
				hc.CapDrop = []string{"ALL"}
				hc.SecurityOpt = []string{"no-new-privileges"}
				hc.Tmpfs = map[string]string{"/tmp": "rw,noexec,nosuid,size=64m,mode=1777"}
				if volume != "" {
					hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: volume, Target: "/data"})
				}
			},
		},
		Started: true,
		Logger:  quietLogger{},
	}
}

// quietLogger silences testcontainers' progress lines.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// Host ports are chosen below the kernel's ephemeral range (32768 and up on
// Linux, also where Docker allocates its own), so that no outgoing
// connection or other published container grabs one while its container is
// stopped, and reserved in this process so that concurrent runs differ.
const (
	hostPortMin = 20000
	hostPortMax = 32000
)

var reserved = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

func (r *dockerRun) reservePort() (int, error) {
	reserved.Lock()
	defer reserved.Unlock()
	for range 200 {
		p := hostPortMin + mathrand.IntN(hostPortMax-hostPortMin)
		if reserved.ports[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		reserved.ports[p] = true
		r.mu.Lock()
		r.ports = append(r.ports, p)
		r.mu.Unlock()
		return p, nil
	}
	return 0, errors.New("docker: no free port on 127.0.0.1 to publish a container on")
}

func (r *dockerRun) releasePorts() {
	reserved.Lock()
	defer reserved.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.ports {
		delete(reserved.ports, p)
	}
	r.ports = nil
}

// fault applies a container fault (kill, stop, restart, pause) or lifts one
// (unkill, unstop: start again; unpause) to target: a role ("capture"),
// one dyno ("dyno[2]") or every dyno ("dyno"). A container started again
// is waited for until it answers its health probe.
func (r *dockerRun) fault(ctx context.Context, target, fault string) error {
	comps, err := r.targets(target)
	if err != nil {
		return err
	}
	errs := make([]error, len(comps))
	var wg sync.WaitGroup
	for i, c := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.apply(ctx, c, fault); err != nil {
				errs[i] = fmt.Errorf("%s %s: %w", fault, c.spec.role, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *dockerRun) targets(target string) ([]*dockerComp, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.comps[target]; ok && target != "toxiproxy" {
		return []*dockerComp{c}, nil
	}
	if region, ok := strings.CutPrefix(target, "region:"); ok {
		var out []*dockerComp
		for _, c := range r.comps {
			if c.spec.region == region {
				out = append(out, c)
			}
		}
		if len(out) > 0 {
			sort.Slice(out, func(i, j int) bool { return out[i].spec.role < out[j].spec.role })
			return out, nil
		}
	}
	if target == topology.RoleDyno {
		var out []*dockerComp
		for i := 1; ; i++ {
			c, ok := r.comps[topology.DynoName(i)]
			if !ok {
				break
			}
			out = append(out, c)
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	var names []string
	for role := range r.comps {
		if role != "toxiproxy" {
			names = append(names, role)
		}
	}
	sort.Strings(names)
	return nil, fmt.Errorf("no container %q (containers: dyno, %s)", target, strings.Join(names, ", "))
}

func (r *dockerRun) apply(ctx context.Context, c *dockerComp, fault string) error {
	id := c.c.GetContainerID()
	stop := dockerStopTimeout
	switch fault {
	case "kill":
		return r.cli.ContainerKill(ctx, id, "KILL")
	case "stop":
		return r.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &stop})
	case "pause":
		return r.cli.ContainerPause(ctx, id)
	case "unpause":
		return r.cli.ContainerUnpause(ctx, id)
	case "restart":
		if err := r.cli.ContainerRestart(ctx, id, container.StopOptions{Timeout: &stop}); err != nil {
			return err
		}
		return r.waitReady(ctx, c)
	case "unkill", "unstop":
		if err := r.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			return err
		}
		return r.waitReady(ctx, c)
	}
	return fmt.Errorf("unknown container fault %q (kill, stop, restart, pause)", fault)
}

// waitReady polls c's readiness path on its (pinned) host port.
func (r *dockerRun) waitReady(ctx context.Context, c *dockerComp) error {
	ctx, cancel := context.WithTimeout(ctx, dockerReadyTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url()+c.spec.ready, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if st, ierr := r.cli.ContainerInspect(ctx, c.c.GetContainerID()); ierr == nil && st.State != nil && st.State.Status == "exited" {
			return fmt.Errorf("exited with code %d after starting again:\n%s", st.State.ExitCode,
				containerLogs(ctx, r.cli, c.c.GetContainerID(), 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready at %s after starting again: %w", c.url(), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// teardown stops every container (gracefully, so the stores close
// cleanly), copies the stores and the containers' logs into the run's
// directory, and removes everything labelled with this boot's id. After a
// failed or interrupted Start there is nothing to keep but the logs: it
// removes at once. It works from a context of its own: it also runs when
// the run's was cancelled.
func (r *dockerRun) teardown() error {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTeardown)
	defer cancel()
	defer r.cli.Close()
	defer r.releasePorts()
	r.mu.Lock()
	comps := make([]*dockerComp, 0, len(r.comps))
	for _, c := range r.comps {
		comps = append(comps, c)
	}
	r.mu.Unlock()
	if r.log != nil {
		fmt.Fprintf(r.log, "docker: removing %s\n", r.id)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, c := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := c.c.GetContainerID()
			keep := r.booted.Load()
			if keep {
				_ = r.cli.ContainerUnpause(ctx, id) // a paused container cannot stop
				stop := dockerStopTimeout
				_ = r.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &stop})
			}
			if r.dir == "" {
				return
			}
			if err := saveLogs(ctx, r.cli, id, r.dir, c.spec.role); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			if keep && c.spec.store != "" {
				if err := copyStore(ctx, r.cli, id, r.dir); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("copying %s's store: %w", c.spec.role, err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	removed, err := removeLabelled(ctx, r.cli, labelSystem+"="+r.id, false)
	if err != nil {
		errs = append(errs, err)
	}
	if r.log != nil {
		fmt.Fprintf(r.log, "docker: removed %s\n", removed)
	}
	return errors.Join(errs...)
}
