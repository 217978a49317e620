// Package reconciler is production's periodic reconciler. Orders accepted
// while the gateway did not answer carry a "gateway-down-..." gateway id
// and no charge; every interval the reconciler takes each of them from the
// db and searches the gateway for its charge:
//
//   - match "similar" (the original design): any charge of the same customer
//     and amount created within ±window of the order. It can pick another
//     order's charge (a repeat purchase), leaving this order unpaid and the
//     other charge counted twice: a "wrong match" the checker must catch.
//   - match "reference": a charge carrying the order's own reference.
//
// The first match, oldest first, is adopted (the order is patched with its
// id, state charged); without one the order is charged now (Idempotency-Key
// = request id) and patched. Every action is recorded as a
// wire.ReconcileRecord whose ChargeRef is the reference the adopted charge
// itself carries, so a wrong adoption is visible in the records.
//
// HTTP:
//
//	POST /reconcile     run a pass now; answers 200 wire.WorkerStatus after it
//	PUT  /admin/db      wire.StoreTarget: work on another order store from the next pass
//	GET  /admin/status  200 wire.WorkerStatus
//	GET  /admin/export  every record as NDJSON (wire.ReconcileRecord)
//	GET  /healthz       200
package reconciler

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/roles"
	"paydrill/sim/service"
	"paydrill/sim/store"
	"paydrill/sim/wire"
)

// Match strategies.
const (
	// MatchSimilar adopts any charge of the same customer and amount
	// created within ±Window of the order.
	MatchSimilar = "similar"
	// MatchReference adopts only a charge carrying the order's reference.
	MatchReference = "reference"
)

// Config configures the reconciler.
type Config struct {
	// DB is the base URL of the production order store.
	DB string `json:"db"`
	// Gateway is the base URL of the payment gateway.
	Gateway string `json:"gateway"`
	// Interval is the time between two background passes.
	Interval wire.Duration `json:"interval"`
	// Match is how a charge is found for an order: "similar" or "reference".
	Match string `json:"match"`
	// Window is, for match similar, how far before or after the order's
	// creation a charge may have been made and still be adopted.
	Window wire.Duration `json:"window"`
	// Timeout bounds each HTTP call to the db or the gateway.
	Timeout wire.Duration `json:"timeout"`
	// Store is the path of the SQLite database of the reconciler's records.
	Store string `json:"store"`
}

var _ roles.Config = (*Config)(nil)

// DefaultConfig reconciles every minute, matching similar charges within
// 10 minutes, with 10 s per HTTP call. DB and Gateway have no default: they
// are the addresses of the running system.
func DefaultConfig() Config {
	return Config{
		Interval: wire.Duration(time.Minute),
		Match:    MatchSimilar,
		Window:   wire.Duration(10 * time.Minute),
		Timeout:  wire.Duration(10 * time.Second),
		Store:    "reconciler.sqlite",
	}
}

// Flags registers one flag per setting on fs, defaulting to c's values.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.DB, "db", c.DB,
		"base URL of the production order store (e.g. http://db:8080) whose gateway-down-* orders are reconciled (required)")
	fs.StringVar(&c.Gateway, "gateway", c.Gateway,
		"base URL of the payment gateway (e.g. http://gateway:8080) searched for each order's charge and charged when none is found (required)")
	fs.DurationVar((*time.Duration)(&c.Interval), "interval", c.Interval.D(),
		"wall-clock time between two background reconcile passes (e.g. 1m); POST /reconcile also runs one at once")
	fs.StringVar(&c.Match, "match", c.Match,
		`how a gateway charge is found for an order: "similar" = same customer and amount created within --window `+
			`(the original design; can adopt another order's charge), "reference" = the charge carries the order's reference`)
	fs.DurationVar((*time.Duration)(&c.Window), "window", c.Window.D(),
		"with --match similar: how long before or after the order's creation a charge may have been made and still be adopted (e.g. 10m)")
	fs.DurationVar((*time.Duration)(&c.Timeout), "timeout", c.Timeout.D(),
		"time limit of each HTTP call to the db or the gateway (e.g. 10s); a call that takes longer counts as an error and the order is retried next pass")
	fs.StringVar(&c.Store, "store", c.Store,
		"path of the SQLite database where the reconciler records every action it took (created if missing)")
}

// Validate reports every invalid setting, each named by its flag.
func (c Config) Validate() error {
	var errs []error
	for _, u := range []struct{ flag, v string }{{"--db", c.DB}, {"--gateway", c.Gateway}} {
		if err := service.CheckURL(u.v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.flag, err))
		}
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("--interval: must be greater than 0, got %s", c.Interval.D()))
	}
	if c.Match != MatchSimilar && c.Match != MatchReference {
		errs = append(errs, fmt.Errorf("--match: must be %q or %q, got %q", MatchSimilar, MatchReference, c.Match))
	}
	if c.Window < 0 {
		errs = append(errs, fmt.Errorf("--window: must be 0 or more, got %s", c.Window.D()))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout: must be greater than 0, got %s", c.Timeout.D()))
	}
	if c.Store == "" {
		errs = append(errs, errors.New("--store: must not be empty"))
	}
	return errors.Join(errs...)
}

// Build returns the reconciler c describes.
func (c *Config) Build() (http.Handler, error) { return New(*c) }

const schema = `CREATE TABLE IF NOT EXISTS records (
	seq              INTEGER PRIMARY KEY,
	request_id       TEXT NOT NULL,
	reference        TEXT NOT NULL,
	action           TEXT NOT NULL,
	charge_id        TEXT NOT NULL,
	charge_reference TEXT NOT NULL,
	error            TEXT NOT NULL,
	at               INTEGER NOT NULL -- unix nanoseconds, UTC
)`

// Reconciler is the reconciler: an http.Handler and an io.Closer. It runs
// a background pass every Interval from New until Close.
type Reconciler struct {
	cfg    Config
	db     *sql.DB
	client *http.Client
	mux    *http.ServeMux
	dbURL  atomic.Pointer[string] // PUT /admin/db replaces it
	gwURL  string

	pass sync.Mutex // held for a whole pass: never two at once

	mu     sync.Mutex // guards status
	status wire.WorkerStatus

	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	life      sync.Mutex // guards closed and running.Add
	closed    bool
	running   sync.WaitGroup // the loop and passes run for POST /reconcile
	closeOnce sync.Once
	closeErr  error
}

// New opens the record store and starts the background loop.
func New(c Config) (*Reconciler, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	db, err := store.Open(c.Store, false, schema)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Reconciler{
		cfg:    c,
		db:     db,
		client: &http.Client{},
		mux:    http.NewServeMux(),
		gwURL:  strings.TrimRight(c.Gateway, "/"),
		ctx:    ctx,
		cancel: cancel,
	}
	// Done counts the orders resolved by earlier runs on the same store too.
	if err := db.QueryRow(`SELECT COUNT(*) FROM records WHERE action IN (?, ?)`,
		wire.ReconcileAdopted, wire.ReconcileCharged).Scan(&r.status.Done); err != nil {
		cancel()
		db.Close()
		return nil, fmt.Errorf("%s: %w", c.Store, err)
	}
	r.SetDB(c.DB)
	r.mux.HandleFunc("POST "+wire.PathReconcile, r.reconcile)
	r.mux.HandleFunc("PUT "+wire.PathReconcilerDB, r.servePutDB)
	r.mux.HandleFunc("GET "+wire.PathStatus, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, r.Status())
	})
	r.mux.HandleFunc("GET "+wire.PathExport, r.export)
	r.mux.HandleFunc("GET "+wire.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.running.Add(1)
	go r.loop()
	return r, nil
}

// ServeHTTP serves the reconciler's HTTP API.
func (r *Reconciler) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.mux.ServeHTTP(w, req) }

// Close stops the background loop, abandons a pass in progress (its HTTP
// calls are cancelled), waits for every pass to end and closes the store.
// Safe to call twice.
func (r *Reconciler) Close() error {
	if r == nil {
		return nil
	}
	r.closeOnce.Do(func() {
		r.life.Lock()
		r.closed = true
		r.life.Unlock()
		r.cancel()
		r.running.Wait()
		r.closeErr = r.db.Close()
	})
	return r.closeErr
}

// DB is the base URL of the order store the reconciler works on.
func (r *Reconciler) DB() string { return *r.dbURL.Load() }

// SetDB points the reconciler at another order store (the region that is
// active now); a pass in progress finishes on the one it started with.
func (r *Reconciler) SetDB(u string) {
	u = strings.TrimRight(u, "/")
	r.dbURL.Store(&u)
}

func (r *Reconciler) servePutDB(w http.ResponseWriter, req *http.Request) {
	var t wire.StoreTarget
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&t); err != nil {
		service.WriteError(w, http.StatusBadRequest, "want {\"url\": BASE_URL}: "+err.Error())
		return
	}
	if err := service.CheckURL(t.URL); err != nil {
		service.WriteError(w, http.StatusBadRequest, "url: "+err.Error())
		return
	}
	r.SetDB(t.URL)
	service.WriteJSON(w, http.StatusOK, wire.StoreTarget{URL: r.DB()})
}

// Status is the reconciler's progress.
func (r *Reconciler) Status() wire.WorkerStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

func (r *Reconciler) loop() {
	defer r.running.Done()
	t := time.NewTicker(r.cfg.Interval.D())
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			r.Pass(r.ctx)
		}
	}
}

func (r *Reconciler) reconcile(w http.ResponseWriter, _ *http.Request) {
	r.life.Lock()
	if r.closed {
		r.life.Unlock()
		service.WriteError(w, http.StatusServiceUnavailable, "reconciler shutting down")
		return
	}
	r.running.Add(1)
	r.life.Unlock()
	defer r.running.Done()
	// The pass runs to its end even if the caller goes away; only Close
	// cuts it short.
	r.Pass(r.ctx)
	service.WriteJSON(w, http.StatusOK, r.Status())
}

// Pass runs one reconcile pass now, after the pass in progress if any, and
// returns when it is done. ctx cancels its HTTP calls.
func (r *Reconciler) Pass(ctx context.Context) {
	r.pass.Lock()
	defer r.pass.Unlock()
	r.setStatus(func(s *wire.WorkerStatus) { s.Busy = true })
	defer r.setStatus(func(s *wire.WorkerStatus) {
		s.Busy = false
		s.Passes++
		s.LastRun = time.Now().UTC()
	})

	dbURL := r.DB()
	var orders []wire.OrderRecord
	if err := r.call(ctx, http.MethodGet, dbURL+wire.PathOrders+"?reconcilable=1", nil, nil, &orders); err != nil {
		// Nothing to record per order: the list itself failed. Pending
		// keeps its last known value; the next pass tries again.
		return
	}
	r.setStatus(func(s *wire.WorkerStatus) { s.Pending = len(orders) })
	for _, o := range orders {
		if ctx.Err() != nil {
			return
		}
		rec := r.one(ctx, dbURL, o)
		rec.At = time.Now().UTC()
		r.record(rec)
		if rec.Action != wire.ReconcileError {
			r.setStatus(func(s *wire.WorkerStatus) { s.Pending--; s.Done++ })
		}
	}
}

// one reconciles one order of the store at dbURL: adopt the first matching charge, or charge.
func (r *Reconciler) one(ctx context.Context, dbURL string, o wire.OrderRecord) wire.ReconcileRecord {
	rec := wire.ReconcileRecord{RequestID: o.RequestID, Reference: o.Reference}
	fail := func(what string, err error) wire.ReconcileRecord {
		rec.Action = wire.ReconcileError
		rec.Error = what + ": " + err.Error()
		return rec
	}
	q := url.Values{}
	if r.cfg.Match == MatchReference {
		q.Set("reference", o.Reference)
	} else {
		w := r.cfg.Window.D()
		q.Set("customer", o.Customer)
		q.Set("amount_cents", strconv.FormatInt(o.AmountCents, 10))
		q.Set("since", o.CreatedAt.Add(-w).UTC().Format(time.RFC3339Nano))
		q.Set("until", o.CreatedAt.Add(w).UTC().Format(time.RFC3339Nano))
	}
	var found []wire.Charge
	// An order without a reference has nothing to match by: it is charged.
	if r.cfg.Match != MatchReference || o.Reference != "" {
		if err := r.call(ctx, http.MethodGet, r.gwURL+wire.PathSearch+"?"+q.Encode(), nil, nil, &found); err != nil {
			return fail("search gateway", err)
		}
	}
	var ch wire.Charge
	if len(found) > 0 {
		ch = found[0] // the gateway answers oldest first
		rec.Action = wire.ReconcileAdopted
	} else {
		req := wire.ChargeRequest{Customer: o.Customer, AmountCents: o.AmountCents, Reference: o.Reference, CardToken: o.CardToken}
		hdr := http.Header{wire.HeaderIdempotencyKey: {o.RequestID}}
		if err := r.call(ctx, http.MethodPost, r.gwURL+wire.PathCharges, hdr, req, &ch); err != nil {
			return fail("charge", err)
		}
		rec.Action = wire.ReconcileCharged
	}
	rec.ChargeID, rec.ChargeRef = ch.ID, ch.Reference
	upd := wire.OrderUpdate{GatewayID: ch.ID, State: wire.StateCharged}
	if err := r.call(ctx, http.MethodPatch, dbURL+wire.PathOrders+"/"+url.PathEscape(o.RequestID), nil, upd, nil); err != nil {
		return fail("patch order", err)
	}
	return rec
}

// call makes one HTTP call within Timeout: body (if not nil) is sent as
// JSON, a 2xx answer is decoded into out (if not nil); anything else is an
// error.
func (r *Reconciler) call(ctx context.Context, method, u string, hdr http.Header, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout.D())
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s %s", method, u, resp.Status, strings.TrimSpace(string(b)))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	return nil
}

func (r *Reconciler) setStatus(f func(*wire.WorkerStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.status)
}

// record stores one action. A failure to store is not fatal to the pass:
// the order itself has been reconciled (or not) at the db regardless.
func (r *Reconciler) record(rec wire.ReconcileRecord) {
	_, _ = r.db.Exec(`INSERT INTO records (request_id, reference, action, charge_id, charge_reference, error, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		rec.RequestID, rec.Reference, rec.Action, rec.ChargeID, rec.ChargeRef, rec.Error, rec.At.UnixNano())
}

func (r *Reconciler) export(w http.ResponseWriter, req *http.Request) {
	rows, err := r.db.QueryContext(req.Context(), `SELECT request_id, reference, action, charge_id, charge_reference, error, at
		FROM records ORDER BY seq`)
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	var recs []wire.ReconcileRecord
	for rows.Next() {
		var rec wire.ReconcileRecord
		var at int64
		if err := rows.Scan(&rec.RequestID, &rec.Reference, &rec.Action, &rec.ChargeID, &rec.ChargeRef, &rec.Error, &at); err != nil {
			rows.Close()
			service.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		rec.At = time.Unix(0, at).UTC()
		recs = append(recs, rec)
	}
	err = rows.Err()
	rows.Close()
	service.Export(w, recs, err)
}
