// Package gateway is the simulated payment gateway: the card processor every
// dyno charges and the reconciler searches. Its ledger of charges (customer,
// amount, reference, idempotency key, time) lives in SQLite and is the ground
// truth for money: the checker counts double and phantom charges from it.
//
// Each charge first sleeps a latency sampled from Config.Latency and then is
// recorded, whether or not the caller is still waiting: a real gateway does
// not roll a charge back because the merchant's HTTP client gave up. That is
// how a gateway timeout at a dyno turns into money taken for an order the
// dyno believes was never charged.
//
// HTTP:
//
//	POST /charges          wire.ChargeRequest (+ Idempotency-Key) → 201 wire.Charge;
//	                       idempotency on and the key seen before → 200 first charge
//	GET  /charges/search   ?customer=&amount_cents=[&since=&until=] or ?reference=
//	                       → 200 [wire.Charge], oldest first
//	GET  /admin/export     every charge as NDJSON (wire.Charge), oldest first
//	GET  /healthz          200
package gateway

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/dist"
	"paydrill/sim/roles"
	"paydrill/sim/service"
	"paydrill/sim/store"
	"paydrill/sim/wire"
)

// Config configures the gateway.
type Config struct {
	// Store is the path of the SQLite ledger (created if missing).
	Store string `json:"store"`
	// Latency is the time, in seconds, each charge takes before it is
	// recorded and answered.
	Latency dist.Spec `json:"latency"`
	// Idempotency makes a repeated Idempotency-Key return the first charge
	// instead of charging again.
	Idempotency bool `json:"idempotency"`
	// Seed seeds the latency sampler.
	Seed int64 `json:"seed"`
}

var _ roles.Config = (*Config)(nil)

// DefaultConfig is a healthy gateway: lognormal latency with median 150 ms
// and p99 800 ms, no idempotency, ledger in gateway.sqlite.
func DefaultConfig() Config {
	return Config{
		Store:   "gateway.sqlite",
		Latency: dist.Spec{Kind: "lognormal", Median: 0.15, P99: 0.8},
		Seed:    1,
	}
}

// Flags registers one flag per setting on fs, defaulting to c's values.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Store, "store", c.Store,
		"path of the gateway's SQLite ledger of charges (created if missing); the ground truth for money")
	fs.Var(dist.DurationFlag{Spec: &c.Latency}, "latency",
		"time each charge takes before the gateway records and answers it, as a distribution of durations, "+
			"e.g. const:value=150ms or lognormal:median=150ms,p99=800ms; the charge is recorded even if the caller gave up")
	fs.BoolVar(&c.Idempotency, "idempotency", c.Idempotency,
		"honour the Idempotency-Key header: a key seen before returns the first charge (200) instead of charging again")
	fs.Int64Var(&c.Seed, "seed", c.Seed,
		"seed of the latency sampler; the same seed gives the same sequence of latencies")
}

// Validate reports every invalid setting, each named by its flag.
func (c Config) Validate() error {
	var errs []error
	if c.Store == "" {
		errs = append(errs, errors.New("--store: must not be empty"))
	}
	if err := c.Latency.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--latency: %w", err))
	}
	return errors.Join(errs...)
}

// Build returns the gateway c describes.
func (c *Config) Build() (http.Handler, error) { return New(*c) }

const schema = `CREATE TABLE IF NOT EXISTS charges (
	seq             INTEGER PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	customer        TEXT NOT NULL,
	amount_cents    INTEGER NOT NULL,
	reference       TEXT NOT NULL,
	card_token      TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	created_at      INTEGER NOT NULL -- unix nanoseconds, UTC
)`

var indexes = []string{
	`CREATE INDEX IF NOT EXISTS charges_similar ON charges (customer, amount_cents, created_at)`,
	`CREATE INDEX IF NOT EXISTS charges_reference ON charges (reference)`,
	`CREATE INDEX IF NOT EXISTS charges_key ON charges (idempotency_key)`,
}

const maxBody = 1 << 20

// Gateway is the payment gateway: an http.Handler and an io.Closer.
type Gateway struct {
	cfg     Config
	db      *sql.DB
	latency *dist.Sampler
	mux     *http.ServeMux

	// mu serialises the idempotency check and the insert, and guards seq.
	mu  sync.Mutex
	seq int64

	life     sync.Mutex // guards closed and inflight.Add
	closed   bool
	closing  chan struct{}
	inflight sync.WaitGroup
}

// New opens the ledger and returns the gateway.
func New(c Config) (*Gateway, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	d, err := c.Latency.Dist()
	if err != nil {
		return nil, fmt.Errorf("--latency: %w", err)
	}
	db, err := store.Open(c.Store, false, append([]string{schema}, indexes...)...)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:     c,
		db:      db,
		latency: dist.NewSampler(d, c.Seed),
		mux:     http.NewServeMux(),
		closing: make(chan struct{}),
	}
	if err := db.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM charges`).Scan(&g.seq); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", c.Store, err)
	}
	g.mux.HandleFunc("POST "+wire.PathCharges, g.charge)
	g.mux.HandleFunc("GET "+wire.PathSearch, g.search)
	g.mux.HandleFunc("GET "+wire.PathExport, g.export)
	g.mux.HandleFunc("GET "+wire.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return g, nil
}

// ServeHTTP serves the gateway's HTTP API.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

// Close abandons charges still sleeping (they are not recorded: the gateway
// died before processing them), waits for the rest, and closes the ledger.
// Safe to call twice.
func (g *Gateway) Close() error {
	if g == nil {
		return nil
	}
	g.life.Lock()
	if g.closed {
		g.life.Unlock()
		return nil
	}
	g.closed = true
	close(g.closing)
	g.life.Unlock()
	g.inflight.Wait()
	return g.db.Close()
}

// enter registers an in-flight charge; false once the gateway is closing.
func (g *Gateway) enter() bool {
	g.life.Lock()
	defer g.life.Unlock()
	if g.closed {
		return false
	}
	g.inflight.Add(1)
	return true
}

func (g *Gateway) charge(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	var req wire.ChargeRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&req); err != nil {
		service.WriteError(w, http.StatusBadRequest, "malformed charge: "+err.Error())
		return
	}
	if req.AmountCents < 0 {
		service.WriteError(w, http.StatusBadRequest, "amount_cents: must be 0 or more")
		return
	}
	key := r.Header.Get(wire.HeaderIdempotencyKey)
	if !g.enter() {
		service.WriteError(w, http.StatusServiceUnavailable, "gateway shutting down")
		return
	}
	defer g.inflight.Done()

	// The latency comes first and ignores the caller: the charge is recorded
	// even when nobody waits for the answer any more.
	latency := time.Duration(g.latency.Sample() * float64(time.Second))
	if latency > 0 {
		t := time.NewTimer(time.Until(began.Add(latency)))
		select {
		case <-t.C:
		case <-g.closing:
			t.Stop()
			service.WriteError(w, http.StatusServiceUnavailable, "gateway shutting down")
			return
		}
	}

	ch, created, err := g.record(req, key)
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	overhead := max(time.Since(began)-latency, 0)
	w.Header().Set(wire.HeaderOverhead, strconv.FormatInt(int64(overhead), 10))
	w.Header().Set(wire.HeaderLatency, strconv.FormatInt(int64(latency), 10))
	service.WriteJSON(w, status, ch)
}

// record adds a charge to the ledger, or, with idempotency on and a key seen
// before, returns the first charge made with that key (created false).
func (g *Gateway) record(req wire.ChargeRequest, key string) (wire.Charge, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cfg.Idempotency && key != "" {
		chs, err := g.query(`WHERE idempotency_key = ? ORDER BY seq LIMIT 1`, key)
		if err != nil {
			return wire.Charge{}, false, err
		}
		if len(chs) > 0 {
			return chs[0], false, nil
		}
	}
	seq := g.seq + 1
	ch := wire.Charge{
		ID:             fmt.Sprintf("ch_%08d", seq),
		Customer:       req.Customer,
		AmountCents:    req.AmountCents,
		Reference:      req.Reference,
		CardToken:      req.CardToken,
		IdempotencyKey: key,
		CreatedAt:      time.Now().UTC(),
	}
	_, err := g.db.Exec(`INSERT INTO charges
		(seq, id, customer, amount_cents, reference, card_token, idempotency_key, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		seq, ch.ID, ch.Customer, ch.AmountCents, ch.Reference, ch.CardToken, key, ch.CreatedAt.UnixNano())
	if err != nil {
		return wire.Charge{}, false, fmt.Errorf("record charge: %w", err)
	}
	g.seq = seq
	return ch, true, nil
}

// query selects charges; where is the SQL after FROM charges.
func (g *Gateway) query(where string, args ...any) ([]wire.Charge, error) {
	rows, err := g.db.Query(`SELECT id, customer, amount_cents, reference, card_token, idempotency_key, created_at
		FROM charges `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []wire.Charge{}
	for rows.Next() {
		var ch wire.Charge
		var at int64
		if err := rows.Scan(&ch.ID, &ch.Customer, &ch.AmountCents, &ch.Reference, &ch.CardToken, &ch.IdempotencyKey, &at); err != nil {
			return nil, err
		}
		ch.CreatedAt = time.Unix(0, at).UTC()
		out = append(out, ch)
	}
	return out, rows.Err()
}

// search answers ?reference= (exact), or ?customer=&amount_cents= with
// optional inclusive since/until bounds (RFC 3339), oldest first.
func (g *Gateway) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var (
		chs []wire.Charge
		err error
	)
	if q.Has("reference") {
		chs, err = g.query(`WHERE reference = ? ORDER BY created_at, seq`, q.Get("reference"))
	} else {
		customer := q.Get("customer")
		amount, perr := strconv.ParseInt(q.Get("amount_cents"), 10, 64)
		if !q.Has("customer") || perr != nil {
			service.WriteError(w, http.StatusBadRequest,
				"search needs ?reference=, or ?customer= and an integer ?amount_cents= (with optional since/until)")
			return
		}
		since, until := int64(0), int64(1<<63-1)
		for _, b := range []struct {
			name string
			dst  *int64
		}{{"since", &since}, {"until", &until}} {
			v := q.Get(b.name)
			if v == "" {
				continue
			}
			t, terr := time.Parse(time.RFC3339Nano, v)
			if terr != nil {
				service.WriteError(w, http.StatusBadRequest, b.name+": want an RFC 3339 time: "+terr.Error())
				return
			}
			*b.dst = t.UnixNano()
		}
		chs, err = g.query(`WHERE customer = ? AND amount_cents = ? AND created_at BETWEEN ? AND ?
			ORDER BY created_at, seq`, customer, amount, since, until)
	}
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	service.WriteJSON(w, http.StatusOK, chs)
}

func (g *Gateway) export(w http.ResponseWriter, _ *http.Request) {
	chs, err := g.query(`ORDER BY seq`)
	service.Export(w, chs, err)
}
