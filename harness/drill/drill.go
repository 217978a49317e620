// Package drill runs a disaster-recovery runbook against a booted system
// with a standby region: each step starts at a time, after another step,
// or when a condition holds; it takes the people's time (takes), then
// does its job the way the real system would (provision the standby,
// promote its db, reroute the gslb, fail back), and records what it did
// or why it could not. It also takes the primary db's backups a cold
// standby restores.
//
// It is orchestration: it talks to the components over HTTP (the gslb's
// admin API, the dbs' replication API, the reconciler's store target) and
// to the runtime through system.System.Provision; what the drill did is
// handed to the checker as checker.StepRecord and checker.EventRecord.
package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"paydrill/harness/checker"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// Actions a step can do.
const (
	Detect    = checker.DoDetect    // people notice: takes only
	Provision = checker.DoProvision // bring the standby up (warm: its dynos; cold: all of it)
	Promote   = checker.DoPromote   // the standby's db stops following and takes writes
	Reroute   = checker.DoReroute   // the gslb sends orders to the standby
	Failback  = "failback"          // re-sync the primary from the standby, route back
	Wait      = "wait"              // takes only
)

// Conditions a step can wait for.
const (
	WhenUnhealthy    = "gslb-unhealthy" // the gslb finds the active region unhealthy
	WhenSwitched     = "gslb-switched"  // the gslb sends orders to the standby
	WhenStandbyReady = "standby-ready"  // the standby's router passes the gslb's check
)

// Step is one runbook step, in wall time. Exactly one of HasAt, After,
// When says when it starts.
type Step struct {
	Name  string
	Do    string
	HasAt bool
	At    time.Duration // from the load's start
	After string
	When  string
	Takes time.Duration
}

// Config is a drill on one system.
type Config struct {
	Steps []Step
	Mode  string // the standby's mode: hot, warm, cold
	// Provision and Promote are what the platform itself takes (wall):
	// provisioning waits out the rest of Provision after the real start-up.
	Provision time.Duration
	Promote   time.Duration
	Speed     float64 // model seconds per wall second, for what the outcomes say
	// Poll is how often a condition is checked (default 20 ms).
	Poll time.Duration
	// BackupEvery, when set, takes a backup of the primary's db into
	// BackupPath at the start and then every BackupEvery, until the
	// standby is promoted.
	BackupEvery time.Duration
	BackupPath  string
	// PrimaryCut says whether a fault cuts the primary region off now:
	// its backups, taken inside it, cannot leave it then. Nil: never.
	PrimaryCut func() bool
	// ExportsDir is where the primary's db is saved before a failback
	// re-syncs it (checker.BeforeFailbackExport).
	ExportsDir string
	// Peer is the base URL one component reaches another by (the
	// primary's db re-syncing from the standby's); nil: System.URL.
	Peer func(name string) string
}

// Report is what the drill did.
type Report struct {
	Steps  []checker.StepRecord
	Events []checker.EventRecord
	// PromotedAt and LagAtPromotion: the standby db's promotion (zero:
	// never).
	PromotedAt     time.Time
	LagAtPromotion time.Duration
	// Startup is the real start-up of the standby's provisioning, as the
	// runtime measured it (wall; zero: not provisioned).
	Startup time.Duration
}

// Runner runs one drill.
type Runner struct {
	cfg    Config
	sys    *system.System
	client *http.Client

	mu        sync.Mutex
	steps     []checker.StepRecord
	done      map[string]chan struct{}
	events    []checker.EventRecord
	promoted  time.Time
	lag       time.Duration
	startup   time.Duration
	following string // the replication URL the standby's db followed
	backedUp  time.Time
	finished  sync.WaitGroup
}

// New prepares a drill on sys.
func New(cfg Config, sys *system.System) *Runner {
	if cfg.Poll <= 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	if cfg.Speed <= 0 {
		cfg.Speed = 1
	}
	if cfg.Peer == nil {
		cfg.Peer = sys.Peer
	}
	if cfg.Peer == nil {
		cfg.Peer = sys.URL
	}
	r := &Runner{cfg: cfg, sys: sys, client: &http.Client{Timeout: 30 * time.Second}, done: map[string]chan struct{}{}}
	for _, s := range cfg.Steps {
		r.steps = append(r.steps, checker.StepRecord{Name: s.Name, Do: s.Do, WaitedOn: r.waitedOn(s), Outcome: "never started"})
		r.done[s.Name] = make(chan struct{})
	}
	return r
}

func (r *Runner) waitedOn(s Step) string {
	switch {
	case s.HasAt:
		return "at " + r.model(s.At)
	case s.After != "":
		return "after " + s.After
	default:
		return "when " + s.When
	}
}

// Start runs the backups and every step, each in its own goroutine,
// until ctx ends; began is the load's start.
func (r *Runner) Start(ctx context.Context, began time.Time) {
	if r.cfg.BackupEvery > 0 && r.cfg.BackupPath != "" {
		r.finished.Add(1)
		go func() { defer r.finished.Done(); r.backups(ctx) }()
	}
	for i, s := range r.cfg.Steps {
		r.finished.Add(1)
		go func() { defer r.finished.Done(); r.run(ctx, i, s, began) }()
	}
}

// Stop waits for the goroutines Start began to end (its ctx must be
// done) and reports what the drill did: a step still waiting says so.
func (r *Runner) Stop() Report {
	r.finished.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return Report{Steps: append([]checker.StepRecord(nil), r.steps...), Events: append([]checker.EventRecord(nil), r.events...),
		PromotedAt: r.promoted, LagAtPromotion: r.lag, Startup: r.startup}
}

func (r *Runner) event(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, checker.EventRecord{At: time.Now().UTC(), What: what})
}

// model says a wall duration in model time.
func (r *Runner) model(d time.Duration) string {
	return (time.Duration(float64(d) * r.cfg.Speed)).Round(100 * time.Millisecond).String()
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// run waits for step i's trigger, its takes, then does its job.
func (r *Runner) run(ctx context.Context, i int, s Step, began time.Time) {
	switch {
	case s.HasAt:
		if !sleep(ctx, time.Until(began.Add(s.At))) {
			return
		}
	case s.After != "":
		select {
		case <-ctx.Done():
			return
		case <-r.done[s.After]:
		}
	default:
		for !r.holds(ctx, s.When) {
			if !sleep(ctx, r.cfg.Poll) {
				return
			}
		}
	}
	r.mu.Lock()
	r.steps[i].Started, r.steps[i].Outcome = time.Now().UTC(), "in progress"
	r.mu.Unlock()
	outcome, ok := "interrupted: the run ended during the step's takes", false
	if sleep(ctx, s.Takes) {
		outcome, ok = r.do(ctx, s)
	}
	r.mu.Lock()
	r.steps[i].Ended, r.steps[i].Outcome, r.steps[i].OK = time.Now().UTC(), outcome, ok
	r.mu.Unlock()
	if ctx.Err() == nil {
		close(r.done[s.Name])
	}
}

// holds says whether a condition holds now.
func (r *Runner) holds(ctx context.Context, when string) bool {
	var st wire.GSLBState
	if err := r.get(ctx, r.sys.URL(topology.RoleGSLB)+wire.PathGSLBState, &st); err != nil {
		return false
	}
	switch when {
	case WhenUnhealthy:
		return st.Unhealthy
	case WhenSwitched:
		return st.Active == topology.RegionStandby
	case WhenStandbyReady:
		return st.Ready[topology.RegionStandby]
	}
	return false
}

// do does a step's job; ok is false when it could not.
func (r *Runner) do(ctx context.Context, s Step) (outcome string, ok bool) {
	switch s.Do {
	case Detect:
		return "detected", true
	case Wait:
		return "waited", true
	case Provision:
		return r.provision(ctx)
	case Promote:
		return r.promote(ctx)
	case Reroute:
		return r.reroute(ctx, s.Name)
	case Failback:
		return r.failback(ctx, s.Name)
	}
	return "unknown action " + s.Do, false
}

func (r *Runner) provision(ctx context.Context) (string, bool) {
	if r.cfg.Mode == "hot" {
		return "the hot standby runs already", true
	}
	if r.sys.Provision == nil {
		return "failed: this runtime cannot provision a region", false
	}
	t0 := time.Now()
	if err := r.sys.Provision(ctx, topology.RegionStandby); err != nil {
		return "failed: " + err.Error(), false
	}
	real := time.Since(t0)
	r.mu.Lock()
	r.startup = real
	r.mu.Unlock()
	r.event(fmt.Sprintf("standby provisioned (start-up measured: %s wall)", real.Round(time.Millisecond)))
	if !sleep(ctx, r.cfg.Provision-real) {
		return "interrupted: the run ended while provisioning", false
	}
	what := "its dynos"
	if r.cfg.Mode == "cold" {
		what = "the whole region, its db restored from the last backup"
	}
	return fmt.Sprintf("provisioned %s in %s (of which the real start-up %s)", what,
		r.model(max(r.cfg.Provision, real)), r.model(real)), true
}

func (r *Runner) standbyDB() string {
	return r.sys.URL(topology.InRegion(topology.RegionStandby, topology.RoleDB))
}

func (r *Runner) promote(ctx context.Context) (string, bool) {
	db := r.standbyDB()
	if db == "" {
		return "failed: the standby's db does not exist (a cold standby must be provisioned first)", false
	}
	if !sleep(ctx, r.cfg.Promote) {
		return "interrupted: the run ended while promoting", false
	}
	var before, after wire.ReplicationStatus
	if err := r.get(ctx, db+wire.PathReplication, &before); err != nil {
		return "failed: " + err.Error(), false
	}
	if err := r.send(ctx, http.MethodPost, db+wire.PathPromote, nil, &after); err != nil {
		return "failed: " + err.Error(), false
	}
	r.mu.Lock()
	r.promoted, r.lag = after.PromotedAt, after.Lag.D()
	if r.promoted.IsZero() {
		// A cold standby's db never followed: it takes writes from now,
		// as far behind as its backup is old.
		r.promoted = time.Now().UTC()
		if !r.backedUp.IsZero() {
			r.lag = r.promoted.Sub(r.backedUp)
		}
	}
	r.following = before.Following
	r.mu.Unlock()
	if before.Following == "" {
		r.event(fmt.Sprintf("standby db takes writes (restored %d orders from the backup)", before.Restored))
		return fmt.Sprintf("the standby's db takes writes: %d orders restored from the last backup", before.Restored), true
	}
	r.event(fmt.Sprintf("standby db promoted, %s behind the primary", r.model(after.Lag.D())))
	return fmt.Sprintf("promoted the standby's db, %s behind the primary (what it had not shipped is lost)",
		r.model(after.Lag.D())), true
}

func (r *Runner) reroute(ctx context.Context, name string) (string, bool) {
	gslb := r.sys.URL(topology.RoleGSLB)
	var st wire.GSLBState
	if err := r.get(ctx, gslb+wire.PathGSLBState, &st); err != nil {
		return "failed: the gslb: " + err.Error(), false
	}
	if err := r.send(ctx, http.MethodPut, gslb+wire.PathGSLBActive, wire.GSLBSwitch{Region: topology.RegionStandby, Reason: name}, nil); err != nil {
		return "failed: the gslb: " + err.Error(), false
	}
	if db := r.standbyDB(); db != "" {
		if err := r.send(ctx, http.MethodPut, r.sys.URL(topology.RoleReconciler)+wire.PathReconcilerDB,
			wire.StoreTarget{URL: r.cfg.Peer(topology.InRegion(topology.RegionStandby, topology.RoleDB))}, nil); err != nil {
			return "rerouted to the standby, but the reconciler could not be moved: " + err.Error(), false
		}
	}
	r.mu.Lock()
	promoted := !r.promoted.IsZero()
	r.mu.Unlock()
	switch {
	case st.Regions[topology.RegionStandby] == "":
		return "rerouted to a standby that does not exist yet: its orders are refused until it is provisioned", false
	case !st.Ready[topology.RegionStandby]:
		return "rerouted to a standby that was not ready: its orders fail until it is", false
	case !promoted:
		return "rerouted to the standby before its db was promoted: it refuses writes until it is", false
	}
	return "rerouted to the standby", true
}

func (r *Runner) failback(ctx context.Context, name string) (string, bool) {
	r.mu.Lock()
	promoted, following := !r.promoted.IsZero(), r.following
	r.mu.Unlock()
	if !promoted {
		return "nothing to fail back: the standby's db was never promoted", false
	}
	primary, standby := r.sys.URL(topology.RoleDB), r.standbyDB()
	// The standby stops taking writes first, so that nothing it accepts
	// after the re-sync's copy is left behind: orders sent meanwhile fail
	// over to capture and are replayed to the primary.
	if err := r.send(ctx, http.MethodPost, standby+wire.PathFreeze, nil, nil); err != nil {
		return "failed: freezing the standby's db: " + err.Error(), false
	}
	// What the old primary held of its own, for the checker, before the
	// re-sync replaces it.
	before, err := service.Fetch[wire.OrderRecord](ctx, r.client, primary+wire.PathExport)
	if err != nil {
		return "failed: the primary's db cannot be read: " + err.Error(), false
	}
	if err := checker.WriteNDJSON(filepath.Join(r.cfg.ExportsDir, checker.BeforeFailbackExport+".ndjson"), before); err != nil {
		return "failed: " + err.Error(), false
	}
	var st wire.ReplicationStatus
	if err := r.send(ctx, http.MethodPost, primary+wire.PathResync, wire.ResyncRequest{From: r.cfg.Peer(topology.InRegion(topology.RegionStandby, topology.RoleDB))}, &st); err != nil {
		return "failed: re-syncing the primary: " + err.Error(), false
	}
	r.event(fmt.Sprintf("failback: primary db re-synced from the standby (%d orders)", st.Orders))
	if err := r.send(ctx, http.MethodPut, r.sys.URL(topology.RoleGSLB)+wire.PathGSLBActive, wire.GSLBSwitch{Region: topology.RegionPrimary, Reason: name}, nil); err != nil {
		return "failed: the gslb: " + err.Error(), false
	}
	if err := r.send(ctx, http.MethodPut, r.sys.URL(topology.RoleReconciler)+wire.PathReconcilerDB, wire.StoreTarget{URL: r.cfg.Peer(topology.RoleDB)}, nil); err != nil {
		return "failed: moving the reconciler back: " + err.Error(), false
	}
	// The standby follows the primary again, still refusing the orders
	// clients' cached answers send it: they fail over to capture rather
	// than land where the primary will not see them.
	if following != "" && standby != "" {
		if err := r.send(ctx, http.MethodPost, standby+wire.PathFollow, wire.FollowRequest{Primary: following, After: st.Seq}, nil); err != nil {
			return "failed back, but the standby could not follow the primary again: " + err.Error(), false
		}
	}
	return fmt.Sprintf("failed back: the primary re-synced with the standby's %d orders (it held %d), orders routed to the primary", st.Orders, len(before)), true
}

// backups takes a backup of the primary's db now and every BackupEvery
// until the standby is promoted or ctx ends.
func (r *Runner) backups(ctx context.Context) {
	failing := false
	for {
		r.mu.Lock()
		promoted := !r.promoted.IsZero()
		r.mu.Unlock()
		if promoted {
			return
		}
		var orders []wire.OrderRecord
		var err error
		if r.cfg.PrimaryCut != nil && r.cfg.PrimaryCut() {
			err = errors.New("the primary region is cut off: its backup cannot leave it")
		} else if orders, err = service.Fetch[wire.OrderRecord](ctx, r.client, r.sys.URL(topology.RoleDB)+wire.PathExport); err == nil {
			err = checker.WriteNDJSON(r.cfg.BackupPath, orders)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			r.event("backup failed: " + err.Error())
			failing = true
		case err == nil:
			r.mu.Lock()
			r.backedUp = time.Now().UTC()
			r.mu.Unlock()
			r.event(fmt.Sprintf("backup taken (%d orders)", len(orders)))
			failing = false
		}
		if !sleep(ctx, r.cfg.BackupEvery) {
			return
		}
	}
}

func (r *Runner) get(ctx context.Context, url string, v any) error {
	return r.send(ctx, http.MethodGet, url, nil, v)
}

// send makes one admin call; a non-2xx answer is an error carrying its
// text.
func (r *Runner) send(ctx context.Context, method, url string, body, v any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(msg))
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
