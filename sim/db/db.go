// Package db is the production order store the dynos share: one row per
// order, keyed by the request id the edge assigned, so production can
// de-duplicate a retried or replayed order. The reconciler reads the orders
// accepted without a charge (gateway id "gateway-down-...") from it and
// patches them once charged.
//
// HTTP:
//
//	POST  /orders                 wire.OrderRecord → 201 record | 409 existing record
//	POST  /orders/claim           the same, stored with state "claimed"
//	GET   /orders/{request_id}    → 200 record | 404
//	PATCH /orders/{request_id}    wire.OrderUpdate → 200 record | 404
//	GET   /orders?reconcilable=1  → 200 [record] whose gateway id starts with "gateway-down-"
//	GET   /orders                 → 200 [record], every order
//	GET   /admin/export           every order as NDJSON (wire.OrderRecord)
//	GET   /admin/changes?after=&limit=  → 200 [wire.Change], the change feed a replica follows
//	GET   /admin/replication      → 200 wire.ReplicationStatus
//	POST  /admin/promote          stop following, take writes → 200 status
//	POST  /admin/follow           wire.FollowRequest: follow another store → 200 status
//	POST  /admin/restore          NDJSON orders (a backup) into an empty store → 200 status | 409 not empty
//	POST  /admin/freeze           refuse writes until promoted or following → 200 status
//	POST  /admin/resync           wire.ResyncRequest: replace every order with another store's → 200 status
//	GET   /healthz                200
package db

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/roles"
	"paydrill/sim/service"
	"paydrill/sim/store"
	"paydrill/sim/wire"
)

// Config configures the order store.
type Config struct {
	// Store is the path of the SQLite database of orders (created if missing).
	Store string `json:"store"`
	// Follow is the base URL of the primary store this one replicates;
	// "": this store is a primary. A replica refuses writes (503) until
	// it is promoted.
	Follow string `json:"follow,omitempty"`
	// ReplicationLag is how long after its commit on the primary a change
	// is applied here.
	ReplicationLag wire.Duration `json:"replication_lag"`
	// PollInterval is how often a replica asks the primary for changes.
	PollInterval wire.Duration `json:"poll_interval"`
	// Restore is an NDJSON export (wire.OrderRecord) loaded at start into
	// an empty store: the last backup. A missing file starts the store
	// empty and says so in its replication status.
	Restore string `json:"restore,omitempty"`
}

var _ roles.Config = (*Config)(nil)

// DefaultConfig keeps the orders in orders.sqlite.
func DefaultConfig() Config {
	return Config{Store: "orders.sqlite", PollInterval: wire.Duration(50 * time.Millisecond)}
}

// Flags registers one flag per setting on fs, defaulting to c's values.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Store, "store", c.Store,
		"path of the SQLite database holding production's orders, one per request id (created if missing)")
	fs.StringVar(&c.Follow, "follow", c.Follow,
		"base URL of a primary order store to replicate (this store then refuses writes until POST /admin/promote)")
	fs.DurationVar((*time.Duration)(&c.ReplicationLag), "replication-lag", c.ReplicationLag.D(),
		"with --follow: how long after its commit on the primary a change is applied here")
	fs.DurationVar((*time.Duration)(&c.PollInterval), "poll-interval", c.PollInterval.D(),
		"with --follow: how often the primary is asked for new changes")
	fs.StringVar(&c.Restore, "restore", c.Restore,
		"an NDJSON export of orders (the last backup) loaded into an empty store at start")
}

// Validate reports every invalid setting, each named by its flag.
func (c Config) Validate() error {
	var errs []error
	if c.Store == "" {
		errs = append(errs, errors.New("--store: must not be empty"))
	}
	if c.Follow != "" {
		if err := service.CheckURL(c.Follow); err != nil {
			errs = append(errs, fmt.Errorf("--follow: %w", err))
		}
	}
	if c.ReplicationLag < 0 {
		errs = append(errs, fmt.Errorf("--replication-lag: must not be negative, got %s", c.ReplicationLag.D()))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("--poll-interval: must not be negative (0: 50ms), got %s", c.PollInterval.D()))
	}
	return errors.Join(errs...)
}

// Build returns the order store c describes.
func (c *Config) Build() (http.Handler, error) { return New(*c) }

const schema = `CREATE TABLE IF NOT EXISTS orders (
	request_id   TEXT PRIMARY KEY,
	reference    TEXT NOT NULL,
	customer     TEXT NOT NULL,
	amount_cents INTEGER NOT NULL,
	card_token   TEXT NOT NULL,
	gateway_id   TEXT NOT NULL,
	state        TEXT NOT NULL,
	dyno         TEXT NOT NULL,
	replay       INTEGER NOT NULL,
	created_at   INTEGER NOT NULL, -- unix nanoseconds, UTC
	updated_at   INTEGER NOT NULL,
	seq          INTEGER NOT NULL  -- the write that last changed the row: the change feed's order
)`

const indexGateway = `CREATE INDEX IF NOT EXISTS orders_gateway ON orders (gateway_id)`

const indexSeq = `CREATE INDEX IF NOT EXISTS orders_seq ON orders (seq)`

const columns = `request_id, reference, customer, amount_cents, card_token, gateway_id, state, dyno, replay, created_at, updated_at`

// nextSeq numbers a write: one connection runs every statement, so the
// numbers are the order of the commits.
const nextSeq = `(SELECT COALESCE(MAX(seq), 0) + 1 FROM orders)`

const maxBody = 1 << 20

var states = map[string]bool{
	wire.StateClaimed: true, wire.StateCharged: true, wire.StateDeferred: true, wire.StateFailed: true,
}

// DB is the order store: an http.Handler and an io.Closer.
type DB struct {
	cfg Config
	db  *sql.DB
	mux *http.ServeMux
	rep replication
}

// New opens the store and returns it.
func New(c Config) (*DB, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	sdb, err := store.Open(c.Store, false, schema, indexGateway, indexSeq)
	if err != nil {
		return nil, err
	}
	d := &DB{cfg: c, db: sdb, mux: http.NewServeMux()}
	if c.Restore != "" {
		if err := d.restore(c.Restore); err != nil {
			sdb.Close()
			return nil, err
		}
	}
	d.mux.HandleFunc("POST "+wire.PathOrders, func(w http.ResponseWriter, r *http.Request) { d.insert(w, r, false) })
	d.mux.HandleFunc("POST "+wire.PathClaim, func(w http.ResponseWriter, r *http.Request) { d.insert(w, r, true) })
	d.mux.HandleFunc("GET "+wire.PathOrders, d.list)
	d.mux.HandleFunc("GET "+wire.PathOrders+"/{request_id}", d.get)
	d.mux.HandleFunc("PATCH "+wire.PathOrders+"/{request_id}", d.patch)
	d.mux.HandleFunc("GET "+wire.PathExport, d.export)
	d.mux.HandleFunc("GET "+wire.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	d.routeReplication()
	if c.Follow != "" {
		d.startFollowing(c.Follow, 0)
	}
	return d, nil
}

// ServeHTTP serves the order store's HTTP API.
func (d *DB) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

// Close closes the database. Safe to call twice.
func (d *DB) Close() error {
	if d == nil {
		return nil
	}
	d.stopFollowing()
	return d.db.Close()
}

// insert stores a new order: 201 with the stored record, or 409 with the
// record already held under that request id. claim forces state "claimed".
// The request id comes from the body, else from X-Request-Id; an empty
// state is inferred from the gateway id; a zero created_at becomes now.
func (d *DB) insert(w http.ResponseWriter, r *http.Request, claim bool) {
	if d.refuseWrite(w) {
		return
	}
	var o wire.OrderRecord
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&o); err != nil {
		service.WriteError(w, http.StatusBadRequest, "malformed order: "+err.Error())
		return
	}
	if o.RequestID == "" {
		o.RequestID = r.Header.Get(wire.HeaderRequestID)
	}
	if o.RequestID == "" {
		service.WriteError(w, http.StatusBadRequest, "request_id: required (in the body or X-Request-Id)")
		return
	}
	switch {
	case claim:
		o.State = wire.StateClaimed
	case o.State == "" && strings.HasPrefix(o.GatewayID, wire.GatewayDownPrefix):
		o.State = wire.StateDeferred
	case o.State == "" && o.GatewayID != "":
		o.State = wire.StateCharged
	case o.State == "":
		o.State = wire.StateClaimed
	}
	if !states[o.State] {
		service.WriteError(w, http.StatusBadRequest, fmt.Sprintf("state: must be claimed, charged, deferred or failed, got %q", o.State))
		return
	}
	now := time.Now().UTC()
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	o.CreatedAt = o.CreatedAt.UTC()
	o.UpdatedAt = now
	res, err := d.db.ExecContext(r.Context(), `INSERT INTO orders (`+columns+`, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, `+nextSeq+`) ON CONFLICT (request_id) DO NOTHING`,
		o.RequestID, o.Reference, o.Customer, o.AmountCents, o.CardToken, o.GatewayID, o.State,
		o.Dyno, o.Replay, o.CreatedAt.UnixNano(), o.UpdatedAt.UnixNano())
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if n, _ := res.RowsAffected(); n == 1 {
		service.WriteJSON(w, http.StatusCreated, o)
		return
	}
	existing, err := d.one(o.RequestID)
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	service.WriteJSON(w, http.StatusConflict, existing)
}

func (d *DB) get(w http.ResponseWriter, r *http.Request) {
	o, err := d.one(r.PathValue("request_id"))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		service.WriteError(w, http.StatusNotFound, "no such order")
	case err != nil:
		service.WriteError(w, http.StatusInternalServerError, err.Error())
	default:
		service.WriteJSON(w, http.StatusOK, o)
	}
}

// patch sets the gateway id and state of an order; an empty field is left
// as it was.
func (d *DB) patch(w http.ResponseWriter, r *http.Request) {
	if d.refuseWrite(w) {
		return
	}
	var u wire.OrderUpdate
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&u); err != nil {
		service.WriteError(w, http.StatusBadRequest, "malformed update: "+err.Error())
		return
	}
	if u.State != "" && !states[u.State] {
		service.WriteError(w, http.StatusBadRequest, fmt.Sprintf("state: must be claimed, charged, deferred or failed, got %q", u.State))
		return
	}
	id := r.PathValue("request_id")
	// One statement updates and reads the record back: every order is
	// patched once, and a second statement cost as much again.
	rows, err := d.db.QueryContext(r.Context(), `UPDATE orders SET
		gateway_id = CASE WHEN ? = '' THEN gateway_id ELSE ? END,
		state      = CASE WHEN ? = '' THEN state ELSE ? END,
		updated_at = ?,
		seq        = `+nextSeq+`
		WHERE request_id = ?
		RETURNING `+columns,
		u.GatewayID, u.GatewayID, u.State, u.State, time.Now().UTC().UnixNano(), id)
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	os, err := scanOrders(rows)
	switch {
	case err != nil:
		service.WriteError(w, http.StatusInternalServerError, err.Error())
	case len(os) == 0:
		service.WriteError(w, http.StatusNotFound, "no such order")
	default:
		service.WriteJSON(w, http.StatusOK, os[0])
	}
}

// list answers every order, or with ?reconcilable=1 only those accepted
// without a charge (gateway id "gateway-down-..."), oldest first.
func (d *DB) list(w http.ResponseWriter, r *http.Request) {
	where := ``
	var args []any
	if v := r.URL.Query().Get("reconcilable"); v != "" && v != "0" && v != "false" {
		where = `WHERE substr(gateway_id, 1, ?) = ?`
		args = []any{len(wire.GatewayDownPrefix), wire.GatewayDownPrefix}
	}
	os, err := d.query(where+` ORDER BY created_at, rowid`, args...)
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	service.WriteJSON(w, http.StatusOK, os)
}

func (d *DB) export(w http.ResponseWriter, _ *http.Request) {
	// Read everything first so a slow reader never holds the only connection.
	os, err := d.query(`ORDER BY rowid`)
	service.Export(w, os, err)
}

// one returns the order held under id, or sql.ErrNoRows.
func (d *DB) one(id string) (wire.OrderRecord, error) {
	os, err := d.query(`WHERE request_id = ?`, id)
	if err != nil {
		return wire.OrderRecord{}, err
	}
	if len(os) == 0 {
		return wire.OrderRecord{}, sql.ErrNoRows
	}
	return os[0], nil
}

// query selects orders; rest is the SQL after FROM orders.
func (d *DB) query(rest string, args ...any) ([]wire.OrderRecord, error) {
	rows, err := d.db.Query(`SELECT `+columns+` FROM orders `+rest, args...)
	if err != nil {
		return nil, err
	}
	return scanOrders(rows)
}

// scanOrders reads and closes rows of the columns.
func scanOrders(rows *sql.Rows) ([]wire.OrderRecord, error) {
	defer rows.Close()
	out := []wire.OrderRecord{}
	for rows.Next() {
		var o wire.OrderRecord
		var created, updated int64
		if err := rows.Scan(&o.RequestID, &o.Reference, &o.Customer, &o.AmountCents, &o.CardToken,
			&o.GatewayID, &o.State, &o.Dyno, &o.Replay, &created, &updated); err != nil {
			return nil, err
		}
		o.CreatedAt = time.Unix(0, created).UTC()
		o.UpdatedAt = time.Unix(0, updated).UTC()
		out = append(out, o)
	}
	return out, rows.Err()
}
