// Package gslb is the global load balancer in front of the regions: it
// sends every order to the active region, health-checks the regions'
// routers, and switches to another region when told to (mode manual) or
// when the active region fails its checks (mode auto). It stands for DNS:
// after a switch, clients that cached the old answer keep going to the old
// region, a share that falls linearly to 0 over the ttl.
//
// HTTP:
//
//   - /...                    forwarded to the chosen region (X-Paydrill-Region names it)
//     GET   /admin/state            → wire.GSLBState
//     PUT   /admin/active           wire.GSLBSwitch → 200 state | 404 unknown region
//     PUT   /admin/regions/{name}   wire.GSLBRegion → 200 state: a region's URL, once it exists
//     GET   /admin/export           every event as NDJSON (wire.GSLBEvent)
//     GET   /healthz, /readyz       200
package gslb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/roles"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// Modes.
const (
	ModeAuto   = "auto"   // switch when the active region fails Failures checks and another is ready
	ModeManual = "manual" // switch only on PUT /admin/active
)

// Errors answered with 503.
const (
	ErrNotProvisioned = "region not provisioned"
	ErrUnreachable    = "region unreachable"
)

// Config configures the gslb.
type Config struct {
	// Regions maps each region's name to its router's base URL; "" for a
	// region that does not exist yet (set later with PUT /admin/regions).
	Regions map[string]string `json:"regions"`
	// Active is the region orders go to at start.
	Active string `json:"active"`
	// Mode is auto or manual.
	Mode string `json:"mode"`
	// Interval is the time between two health checks of every region.
	Interval wire.Duration `json:"interval"`
	// CheckTimeout bounds one health check.
	CheckTimeout wire.Duration `json:"check_timeout"`
	// Failures is how many checks in a row the active region must fail to
	// be unhealthy.
	Failures int `json:"failures"`
	// TTL is how long clients cache the answer: after a switch the share
	// of orders still sent to the old region falls linearly to 0 over it.
	TTL wire.Duration `json:"ttl"`
	// Seed seeds the choice of which orders still reach the old region.
	Seed int64 `json:"seed"`
}

var _ roles.Config = (*Config)(nil)

// DefaultConfig is a manual gslb checking every 10 s, unhealthy after 3
// failed checks, with a 60 s ttl.
func DefaultConfig() Config {
	return Config{Mode: ModeManual, Interval: wire.Duration(10 * time.Second), CheckTimeout: wire.Duration(2 * time.Second),
		Failures: 3, TTL: wire.Duration(60 * time.Second)}
}

// Flags registers one flag per setting on fs, defaulting to c's values.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringToStringVar(&c.Regions, "regions", c.Regions,
		"each region's router base URL, name=url, comma separated (e.g. primary=http://127.0.0.1:9001,standby=); "+
			"an empty URL is a region that does not exist yet (set it with PUT /admin/regions/NAME)")
	fs.StringVar(&c.Active, "active", c.Active, "the region orders go to at start")
	fs.StringVar(&c.Mode, "mode", c.Mode,
		"auto: switch to a ready region when the active one fails --failures checks in a row; manual: only on PUT /admin/active")
	fs.DurationVar((*time.Duration)(&c.Interval), "interval", c.Interval.D(), "time between two health checks of every region (GET /readyz)")
	fs.DurationVar((*time.Duration)(&c.CheckTimeout), "check-timeout", c.CheckTimeout.D(), "how long one health check may take before it counts as failed")
	fs.IntVar(&c.Failures, "failures", c.Failures, "failed checks in a row that make the active region unhealthy")
	fs.DurationVar((*time.Duration)(&c.TTL), "ttl", c.TTL.D(),
		"how long clients cache the gslb's answer: after a switch the share of orders still sent to the old region falls linearly to 0 over it")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed of the choice of orders still sent to the old region after a switch")
}

// Validate reports every invalid setting, each named by its flag.
func (c Config) Validate() error {
	var errs []error
	if len(c.Regions) == 0 {
		errs = append(errs, errors.New("--regions: at least one region is required"))
	}
	for name, u := range c.Regions {
		if name == "" || strings.ContainsAny(name, "/ ") {
			errs = append(errs, fmt.Errorf("--regions: %q is not a region name", name))
		}
		if u != "" {
			if err := service.CheckURL(u); err != nil {
				errs = append(errs, fmt.Errorf("--regions: %s: %w", name, err))
			}
		}
	}
	if _, ok := c.Regions[c.Active]; !ok {
		errs = append(errs, fmt.Errorf("--active: must be one of the regions (%s), got %q", strings.Join(names(c.Regions), ", "), c.Active))
	}
	if c.Mode != ModeAuto && c.Mode != ModeManual {
		errs = append(errs, fmt.Errorf("--mode: must be auto or manual, got %q", c.Mode))
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("--interval: must be greater than 0, got %s", c.Interval.D()))
	}
	if c.CheckTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--check-timeout: must be greater than 0, got %s", c.CheckTimeout.D()))
	}
	if c.Failures < 1 {
		errs = append(errs, fmt.Errorf("--failures: must be at least 1, got %d", c.Failures))
	}
	if c.TTL < 0 {
		errs = append(errs, fmt.Errorf("--ttl: must not be negative, got %s", c.TTL.D()))
	}
	return errors.Join(errs...)
}

// Build returns the gslb c describes.
func (c *Config) Build() (http.Handler, error) { return New(*c) }

func names(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

const maxBody = 1 << 20

// GSLB is a running global load balancer: an http.Handler and an io.Closer.
type GSLB struct {
	cfg    Config
	mux    *http.ServeMux
	proxy  *httputil.ReverseProxy
	client *http.Client // the health checks'
	stop   context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	rng        *rand.Rand
	regions    map[string]*url.URL // nil: not provisioned
	raw        map[string]string
	active     string
	previous   string
	switchedAt time.Time
	failures   int
	unhealthy  bool
	ready      map[string]bool
	events     []wire.GSLBEvent
}

type regionKey struct{}

// New starts a gslb as c describes; its health checks run until Close.
func New(c Config) (*GSLB, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("gslb: %w", err)
	}
	g := &GSLB{
		cfg:     c,
		mux:     http.NewServeMux(),
		rng:     newRand(c.Seed),
		regions: map[string]*url.URL{},
		raw:     map[string]string{},
		active:  c.Active,
		ready:   map[string]bool{},
		done:    make(chan struct{}),
	}
	for name, u := range c.Regions {
		if err := g.setRegion(name, u); err != nil {
			return nil, err
		}
	}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := pr.In.Context().Value(regionKey{}).(*url.URL)
			pr.SetURL(u)
		},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			if name, ok := resp.Request.Context().Value(regionName{}).(string); ok {
				resp.Header.Set(wire.HeaderRegion, name)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if name, ok := r.Context().Value(regionName{}).(string); ok {
				w.Header().Set(wire.HeaderRegion, name)
			}
			service.WriteError(w, http.StatusServiceUnavailable, ErrUnreachable)
		},
	}
	g.client = &http.Client{Timeout: c.CheckTimeout.D(), Transport: &http.Transport{DisableKeepAlives: true}}
	ok := func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
	g.mux.HandleFunc("GET "+wire.PathHealthz, ok)
	g.mux.HandleFunc("GET "+wire.PathReadyz, g.serveReady)
	g.mux.HandleFunc("GET "+wire.PathGSLBState, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, g.State())
	})
	g.mux.HandleFunc("PUT "+wire.PathGSLBActive, g.servePutActive)
	g.mux.HandleFunc("PUT "+wire.PathGSLBRegions+"{name}", g.servePutRegion)
	g.mux.HandleFunc("GET "+wire.PathExport, func(w http.ResponseWriter, _ *http.Request) {
		service.Export(w, g.Events(), nil)
	})
	g.mux.HandleFunc("/", g.serveForward)
	ctx, cancel := context.WithCancel(context.Background())
	g.stop = cancel
	go g.check(ctx)
	return g, nil
}

type regionName struct{}

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)) }

// ServeHTTP serves the gslb's HTTP API.
func (g *GSLB) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

// Close stops the health checks. Safe to call twice.
func (g *GSLB) Close() error {
	g.stop()
	<-g.done
	g.client.CloseIdleConnections()
	return nil
}

// setRegion records a region's URL; "" is a region that does not exist
// yet. The caller holds g.mu or has not shared g yet.
func (g *GSLB) setRegion(name, raw string) error {
	g.raw[name] = raw
	if raw == "" {
		g.regions[name] = nil
		delete(g.ready, name)
		return nil
	}
	if err := service.CheckURL(raw); err != nil {
		return fmt.Errorf("region %s: %w", name, err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("region %s: %w", name, err)
	}
	g.regions[name] = u
	return nil
}

// pick chooses the region of one order: the active one, or during the
// ttl after a switch the previous one for a share falling linearly from 1
// to 0.
func (g *GSLB) pick(now time.Time) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.previous == "" || g.cfg.TTL <= 0 {
		return g.active
	}
	left := 1 - float64(now.Sub(g.switchedAt))/float64(g.cfg.TTL)
	if left <= 0 {
		g.previous = ""
		return g.active
	}
	if g.rng.Float64() < left {
		return g.previous
	}
	return g.active
}

func (g *GSLB) serveForward(w http.ResponseWriter, r *http.Request) {
	name := g.pick(time.Now())
	g.mu.Lock()
	u := g.regions[name]
	g.mu.Unlock()
	w.Header().Set(wire.HeaderRegion, name)
	if id := r.Header.Get(wire.HeaderRequestID); id != "" {
		w.Header().Set(wire.HeaderRequestID, id)
	}
	if u == nil {
		service.WriteError(w, http.StatusServiceUnavailable, ErrNotProvisioned)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ctx := context.WithValue(context.WithValue(r.Context(), regionKey{}, u), regionName{}, name)
	g.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// serveReady answers for the active region: ready when its router is,
// so that a client waiting for production (the replayer) waits for the
// region orders go to, not for the gslb alone.
func (g *GSLB) serveReady(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	name, u := g.active, g.regions[g.active]
	g.mu.Unlock()
	if u == nil {
		service.WriteError(w, http.StatusServiceUnavailable, ErrNotProvisioned)
		return
	}
	if !g.probe(r.Context(), u.String()) {
		service.WriteError(w, http.StatusServiceUnavailable, "region "+name+" not ready")
		return
	}
	service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready", "region": name})
}

// State reports the gslb's view of the regions.
func (g *GSLB) State() wire.GSLBState {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := wire.GSLBState{Active: g.active, Previous: g.previous, SwitchedAt: g.switchedAt, Mode: g.cfg.Mode,
		Unhealthy: g.unhealthy, Failures: g.failures, Ready: map[string]bool{}, Regions: map[string]string{}}
	if g.previous != "" && g.cfg.TTL > 0 && time.Since(g.switchedAt) >= g.cfg.TTL.D() {
		s.Previous = ""
	}
	for k, v := range g.ready {
		s.Ready[k] = v
	}
	for k, v := range g.raw {
		s.Regions[k] = v
	}
	return s
}

// Events returns every event so far, oldest first.
func (g *GSLB) Events() []wire.GSLBEvent {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.events)
}

// Switch makes region the active one. Switching to a region that does
// not exist yet is allowed, as DNS would allow it: its orders are refused
// until it does.
func (g *GSLB) Switch(region, reason string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.regions[region]; !ok {
		return fmt.Errorf("no region %q (have %s)", region, strings.Join(names(g.raw), ", "))
	}
	g.switchLocked(region, reason, time.Now())
	return nil
}

func (g *GSLB) switchLocked(region, reason string, now time.Time) {
	if region == g.active {
		return
	}
	g.events = append(g.events, wire.GSLBEvent{At: now.UTC(), What: wire.GSLBSwitched, Region: region, From: g.active, Reason: reason})
	g.previous, g.active, g.switchedAt = g.active, region, now
	g.failures, g.unhealthy = 0, false
}

func (g *GSLB) servePutActive(w http.ResponseWriter, r *http.Request) {
	var s wire.GSLBSwitch
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&s); err != nil {
		service.WriteError(w, http.StatusBadRequest, "want {\"region\": NAME}: "+err.Error())
		return
	}
	if s.Reason == "" {
		s.Reason = "manual"
	}
	if err := g.Switch(s.Region, s.Reason); err != nil {
		service.WriteError(w, http.StatusNotFound, err.Error())
		return
	}
	service.WriteJSON(w, http.StatusOK, g.State())
}

func (g *GSLB) servePutRegion(w http.ResponseWriter, r *http.Request) {
	var s wire.GSLBRegion
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&s); err != nil {
		service.WriteError(w, http.StatusBadRequest, "want {\"url\": BASE_URL}: "+err.Error())
		return
	}
	name := r.PathValue("name")
	g.mu.Lock()
	if _, ok := g.regions[name]; !ok {
		g.mu.Unlock()
		service.WriteError(w, http.StatusNotFound, fmt.Sprintf("no region %q", name))
		return
	}
	err := g.setRegion(name, s.URL)
	if err == nil {
		g.events = append(g.events, wire.GSLBEvent{At: time.Now().UTC(), What: wire.GSLBRegionSet, Region: name, Reason: s.URL})
	}
	g.mu.Unlock()
	if err != nil {
		service.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	// A region that has just come to exist is checked at once, as a
	// console shows a new target's health before the next round.
	if s.URL != "" {
		ok := g.probe(r.Context(), s.URL)
		g.mu.Lock()
		if g.raw[name] == s.URL {
			g.ready[name] = ok
		}
		g.mu.Unlock()
	}
	service.WriteJSON(w, http.StatusOK, g.State())
}

// check health-checks every region each interval until ctx ends.
func (g *GSLB) check(ctx context.Context) {
	defer close(g.done)
	t := time.NewTicker(g.cfg.Interval.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.mu.Lock()
		targets := map[string]string{}
		for name, u := range g.regions {
			if u != nil {
				targets[name] = u.String()
			}
		}
		g.mu.Unlock()
		results := map[string]bool{}
		var wg sync.WaitGroup
		var rmu sync.Mutex
		for name, u := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok := g.probe(ctx, u)
				rmu.Lock()
				results[name] = ok
				rmu.Unlock()
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		g.observe(results, time.Now())
	}
}

// probe is one health check: GET /readyz answered 200 in time.
func (g *GSLB) probe(ctx context.Context, base string) bool {
	return service.Ready(ctx, g.client, base)
}

// observe records one round of checks and, in mode auto, switches away
// from an unhealthy active region to a ready one.
func (g *GSLB) observe(results map[string]bool, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for name, ok := range results {
		if g.regions[name] != nil {
			g.ready[name] = ok
		}
	}
	ok, checked := results[g.active]
	switch {
	case !checked || !ok:
		// A region that does not exist fails its checks too.
		g.failures++
		if g.failures >= g.cfg.Failures && !g.unhealthy {
			g.unhealthy = true
			g.events = append(g.events, wire.GSLBEvent{At: now.UTC(), What: wire.GSLBUnhealthy, Region: g.active,
				Reason: fmt.Sprintf("%d checks failed in a row", g.failures)})
		}
	default:
		if g.unhealthy {
			g.events = append(g.events, wire.GSLBEvent{At: now.UTC(), What: wire.GSLBHealthy, Region: g.active})
		}
		g.failures, g.unhealthy = 0, false
	}
	if !g.unhealthy || g.cfg.Mode != ModeAuto {
		return
	}
	for _, name := range names(g.raw) {
		if name != g.active && g.ready[name] {
			g.switchLocked(name, fmt.Sprintf("auto: %s failed %d checks in a row", g.active, g.failures), now)
			return
		}
	}
}
