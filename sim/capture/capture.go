// Package capture is the failover capture service ("Chocolate"). When
// production does not answer an order in time the edge sends the identical
// request here; capture asserts the risk (the order is refused when its
// amount reaches the risk limit), stores the raw request durably (synced to
// disk before it answers), and answers exactly as production would. The
// replayer later re-sends every captured request to production with its
// original request id.
//
// HTTP:
//
//	POST /orders        wire.Order → 201 wire.OrderAnswer (stored first);
//	                    402 {"error":"card failed"} at or over the risk limit (not stored);
//	                    400 for a body that is not an order (not stored)
//	GET  /admin/export  every captured request as NDJSON (wire.CapturedRequest)
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
}

var _ roles.Config = (*Config)(nil)

// DefaultConfig keeps captured requests in capture.sqlite and takes orders
// under $100.00.
func DefaultConfig() Config {
	return Config{Store: "capture.sqlite", RiskLimitCents: 10000}
}

// Flags registers one flag per setting on fs, defaulting to c's values.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Store, "store", c.Store,
		"path of the SQLite database where capture stores every accepted raw request, synced to disk before it answers (created if missing)")
	fs.Int64Var(&c.RiskLimitCents, "risk-limit-cents", c.RiskLimitCents,
		"risk limit in cents: an order of this amount or more is refused with 402 \"card failed\" and not stored "+
			"(10000 = $100.00); smaller orders are accepted and later replayed to production")
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
	s := &Capture{cfg: c, db: db, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST "+wire.PathOrders, s.order)
	s.mux.HandleFunc("GET "+wire.PathExport, s.export)
	s.mux.HandleFunc("GET "+wire.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return s, nil
}

// ServeHTTP serves the capture service's HTTP API.
func (s *Capture) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close closes the store. Safe to call twice.
func (s *Capture) Close() error {
	if s == nil {
		return nil
	}
	return s.db.Close()
}

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
	// Stored (and, the store being durable, synced to disk) before the
	// answer leaves. A request id already held is kept as first stored.
	_, err = s.db.ExecContext(r.Context(), `INSERT INTO captured
		(request_id, method, path, header, body, customer, reference, amount_cents, status, captured_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`,
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
