// Package capture is the failover capture service ("Chocolate"). When
// production does not answer an order in time the edge sends the identical
// request here; capture asserts the risk (the order is refused when its
// amount reaches the risk limit), stores the raw request durably (synced to
// disk before it answers), and answers exactly as production would. The
// replayer later re-sends every captured request to production with its
// original request id.
//
// That order (store, then answer) is the design's rule, and the default
// (ack durable). The variant ack early breaks it on purpose: capture answers
// at once and writes the request to its store afterwards, at most the flush
// interval later (a write-behind buffer, flushed also on a graceful close).
// A capture killed meanwhile loses orders the customer was told succeeded:
// the lost orders, and the RPO, the checker must catch.
//
// HTTP:
//
//	POST /orders        wire.Order → 201 wire.OrderAnswer (stored first; with
//	                    ack early, buffered and stored within the flush interval);
//	                    402 {"error":"card failed"} at or over the risk limit (not stored);
//	                    400 for a body that is not an order (not stored)
//	GET  /admin/export  every captured request in the store as NDJSON (wire.CapturedRequest;
//	                    with ack early, not those still buffered)
//	GET  /healthz       200
package capture

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/roles"
	"paydrill/sim/service"
	"paydrill/sim/store"
	"paydrill/sim/wire"
)

// Config configures the capture service.
type Config struct {
	// Store is the path of the SQLite database of captured requests
	// (created if missing); every commit is synced to disk.
	Store string `json:"store"`
	// RiskLimitCents refuses (402 "card failed") orders of this amount or
	// more: capture cannot charge, so it only takes low-risk orders.
	RiskLimitCents int64 `json:"risk_limit_cents"`
	// Ack is when an accepted order is answered: AckDurable (after its raw
	// request is synced to the store) or AckEarly (at once; the request is
	// written to the store within Flush, and lost if capture dies first).
	Ack string `json:"ack"`
	// Flush is, with AckEarly, the longest an answered request waits in
	// memory before it is written to the store: the first request of an
	// empty buffer starts the clock, and the whole buffer is written when
	// it runs out. Unused with AckDurable.
	Flush wire.Duration `json:"flush"`
}

// When capture answers an accepted order (Config.Ack).
const (
	// AckDurable answers once the raw request is synced to the store.
	AckDurable = "durable"
	// AckEarly answers at once and writes the request afterwards.
	AckEarly = "early"
)

var _ roles.Config = (*Config)(nil)

// DefaultConfig keeps captured requests in capture.sqlite, takes orders
// under $100.00, and answers each once it is durable.
func DefaultConfig() Config {
	return Config{Store: "capture.sqlite", RiskLimitCents: 10000, Ack: AckDurable, Flush: wire.Duration(time.Second)}
}

// Flags registers one flag per setting on fs, defaulting to c's values.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Store, "store", c.Store,
		"path of the SQLite database where capture stores every accepted raw request, synced to disk before it answers "+
			"(with --ack early, within --flush after it answers) (created if missing)")
	fs.Int64Var(&c.RiskLimitCents, "risk-limit-cents", c.RiskLimitCents,
		"risk limit in cents: an order of this amount or more is refused with 402 \"card failed\" and not stored "+
			"(10000 = $100.00); smaller orders are accepted and later replayed to production")
	fs.StringVar(&c.Ack, "ack", c.Ack,
		"when an accepted order is answered: durable (after its raw request is synced to the store, the design's rule) "+
			"or early (at once, the request held in memory and written to the store within --flush: a capture killed "+
			"meanwhile loses orders the customer was told succeeded; a graceful stop writes them first)")
	fs.DurationVar((*time.Duration)(&c.Flush), "flush", c.Flush.D(),
		"with --ack early, the longest an answered request waits in memory before it is written to the store "+
			"(the first request of an empty buffer starts the clock; the whole buffer is written then); unused with --ack durable")
}

// Validate reports every invalid setting, each named by its flag.
func (c Config) Validate() error {
	var errs []error
	if c.Store == "" {
		errs = append(errs, errors.New("--store: must not be empty"))
	}
	if c.RiskLimitCents < 0 {
		errs = append(errs, fmt.Errorf("--risk-limit-cents: must be 0 or more, got %d", c.RiskLimitCents))
	}
	if c.Ack != AckDurable && c.Ack != AckEarly {
		errs = append(errs, fmt.Errorf("--ack: must be %s or %s, got %q", AckDurable, AckEarly, c.Ack))
	}
	if c.Flush <= 0 {
		errs = append(errs, fmt.Errorf("--flush: must be greater than 0, got %s", c.Flush.D()))
	}
	return errors.Join(errs...)
}

// Build returns the capture service c describes.
func (c *Config) Build() (http.Handler, error) { return New(*c) }

const schema = `CREATE TABLE IF NOT EXISTS captured (
	request_id   TEXT PRIMARY KEY,
	method       TEXT NOT NULL,
	path         TEXT NOT NULL,
	header       TEXT NOT NULL, -- JSON object of string arrays
	body         BLOB NOT NULL,
	customer     TEXT NOT NULL,
	reference    TEXT NOT NULL,
	amount_cents INTEGER NOT NULL,
	status       INTEGER NOT NULL,
	captured_at  INTEGER NOT NULL -- unix nanoseconds, UTC
)`

const maxBody = 1 << 20

// Capture is the capture service: an http.Handler and an io.Closer.
type Capture struct {
	cfg Config
	db  *sql.DB
	mux *http.ServeMux

	// With AckEarly: the requests answered and not yet stored.
	flushing sync.Mutex // held by one flush at a time, so batches are stored in order
	mu       sync.Mutex // guards what follows
	buffer   []captured
	held     map[string]wire.OrderAnswer // every buffered or being-stored request, by id
	timer    *time.Timer                 // the buffer's flush, while it holds requests
	closed   bool
}

// captured is one accepted request as stored.
type captured struct {
	id, method, path, header string
	body                     []byte
	customer, reference      string
	amountCents              int64
	at                       time.Time
}

// New opens the durable store and returns the service.
func New(c Config) (*Capture, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	db, err := store.Open(c.Store, true, schema)
	if err != nil {
		return nil, err
	}
	s := &Capture{cfg: c, db: db, mux: http.NewServeMux(), held: map[string]wire.OrderAnswer{}}
	s.mux.HandleFunc("POST "+wire.PathOrders, s.order)
	s.mux.HandleFunc("GET "+wire.PathExport, s.export)
	s.mux.HandleFunc("GET "+wire.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return s, nil
}

// ServeHTTP serves the capture service's HTTP API.
func (s *Capture) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close writes what the buffer holds (ack early) and closes the store.
// Safe to call twice.
func (s *Capture) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.mu.Unlock()
	return errors.Join(s.Flush(), s.db.Close())
}

// Flush writes every request answered and not yet stored (ack early) to
// the store, in the order they were answered, and returns once they are
// durable. Requests a failed write could not store stay buffered for the
// next flush. With ack durable there is never anything to write.
func (s *Capture) Flush() error {
	s.flushing.Lock()
	defer s.flushing.Unlock()
	s.mu.Lock()
	batch := s.buffer
	s.buffer = nil
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := s.store(batch)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.buffer = append(batch, s.buffer...)
		s.armLocked()
		return fmt.Errorf("storing %d buffered orders: %w", len(batch), err)
	}
	for _, c := range batch {
		delete(s.held, c.id)
	}
	return nil
}

// store inserts batch in one transaction (synced on commit).
func (s *Capture) store(batch []captured) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range batch {
		if _, err := tx.Exec(insert, c.id, c.method, c.path, c.header, c.body, c.customer, c.reference,
			c.amountCents, http.StatusCreated, c.at.UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// armLocked starts the buffer's flush clock when it holds requests and has
// none running (s.mu held). A closed capture flushes in Close instead.
func (s *Capture) armLocked() {
	if len(s.buffer) == 0 || s.timer != nil || s.closed {
		return
	}
	s.timer = time.AfterFunc(s.cfg.Flush.D(), func() { _ = s.Flush() })
}

// A request id already held is kept as first stored.
const insert = `INSERT INTO captured
		(request_id, method, path, header, body, customer, reference, amount_cents, status, captured_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`

func (s *Capture) order(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		service.WriteError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	var o wire.Order
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&o); err != nil {
		service.WriteError(w, http.StatusBadRequest, "malformed order: "+err.Error())
		return
	}
	if o.AmountCents < 0 {
		service.WriteError(w, http.StatusBadRequest, "amount_cents: must be 0 or more")
		return
	}
	if o.AmountCents >= s.cfg.RiskLimitCents {
		service.WriteError(w, http.StatusPaymentRequired, wire.ErrCardFailed)
		return
	}
	header := r.Header.Clone()
	id := header.Get(wire.HeaderRequestID)
	if id == "" {
		id = newRequestID()
		header.Set(wire.HeaderRequestID, id)
	}
	hj, err := json.Marshal(header)
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if s.cfg.Ack == AckEarly {
		s.orderEarly(w, r, captured{id: id, method: r.Method, path: r.URL.RequestURI(), header: string(hj), body: body,
			customer: o.Customer, reference: o.Reference, amountCents: o.AmountCents, at: time.Now().UTC()})
		return
	}
	// Stored (and, the store being durable, synced to disk) before the
	// answer leaves. A request id already held is kept as first stored.
	_, err = s.db.ExecContext(r.Context(), insert,
		id, r.Method, r.URL.RequestURI(), string(hj), body, o.Customer, o.Reference, o.AmountCents,
		http.StatusCreated, time.Now().UTC().UnixNano())
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, "storing the order: "+err.Error())
		return
	}
	var ans wire.OrderAnswer
	err = s.db.QueryRowContext(r.Context(), `SELECT request_id, reference, amount_cents FROM captured WHERE request_id = ?`, id).
		Scan(&ans.RequestID, &ans.Reference, &ans.AmountCents)
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, "reading the order back: "+err.Error())
		return
	}
	ans.Status = "accepted"
	w.Header().Set(wire.HeaderRequestID, id)
	service.WriteJSON(w, http.StatusCreated, ans)
}

// orderEarly answers c at once and buffers it for the next flush: the
// variant that acknowledges before the write is durable. A request id
// already held (buffered, or stored) is answered as first held.
func (s *Capture) orderEarly(w http.ResponseWriter, r *http.Request, c captured) {
	s.mu.Lock()
	ans, ok := s.held[c.id]
	if !ok && s.closed {
		s.mu.Unlock()
		service.WriteError(w, http.StatusServiceUnavailable, "capture is closing")
		return
	}
	if !ok {
		err := s.db.QueryRowContext(r.Context(), `SELECT request_id, reference, amount_cents FROM captured WHERE request_id = ?`, c.id).
			Scan(&ans.RequestID, &ans.Reference, &ans.AmountCents)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			ans = wire.OrderAnswer{RequestID: c.id, Reference: c.reference, AmountCents: c.amountCents}
			s.buffer = append(s.buffer, c)
			s.held[c.id] = ans
			s.armLocked()
		case err != nil:
			s.mu.Unlock()
			service.WriteError(w, http.StatusInternalServerError, "looking the order up: "+err.Error())
			return
		}
	}
	s.mu.Unlock()
	ans.Status = "accepted"
	w.Header().Set(wire.HeaderRequestID, c.id)
	service.WriteJSON(w, http.StatusCreated, ans)
}

// newRequestID makes an id for a request that arrived without one (the edge
// always sets one; this only happens when capture is called directly).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "cap-" + hex.EncodeToString(b[:])
}

func (s *Capture) export(w http.ResponseWriter, r *http.Request) {
	recs, err := s.records(r)
	service.Export(w, recs, err)
}

// records reads every captured request, in capture order. Read in full
// first so a slow reader never holds the store's only connection.
func (s *Capture) records(r *http.Request) ([]wire.CapturedRequest, error) {
	rows, err := s.db.QueryContext(r.Context(), `SELECT request_id, method, path, header, body, customer, reference,
		amount_cents, status, captured_at FROM captured ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []wire.CapturedRequest
	for rows.Next() {
		var c wire.CapturedRequest
		var hj string
		var at int64
		if err := rows.Scan(&c.RequestID, &c.Method, &c.Path, &hj, &c.Body, &c.Customer, &c.Reference,
			&c.AmountCents, &c.Status, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(hj), &c.Header); err != nil {
			return nil, fmt.Errorf("%s: header: %w", c.RequestID, err)
		}
		c.CapturedAt = time.Unix(0, at).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}
