package db

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// changesPage bounds one answer of the change feed.
const changesPage = 1000

// replication is a store's replica side: the primary it follows, the
// changes fetched and waiting out the lag, and what was applied.
type replication struct {
	mu        sync.Mutex
	following string
	frozen    bool // POST /admin/freeze: writes refused until promote or follow
	stop      context.CancelFunc
	done      chan struct{}
	client    *http.Client

	appliedSeq     int64 // the primary's seq of the last change applied
	appliedThrough time.Time
	// caughtUp: every change the primary committed before it is applied
	// here (the until of the last fetch that read all there was).
	caughtUp     time.Time
	lastContact  time.Time
	lastError    string
	promotedAt   time.Time
	lagPromoted  time.Duration
	restored     int
	restoreError string
	resyncedAt   time.Time
}

func (d *DB) routeReplication() {
	d.rep.client = &http.Client{Timeout: 5 * time.Second}
	d.mux.HandleFunc("GET "+wire.PathChanges, d.changes)
	d.mux.HandleFunc("GET "+wire.PathReplication, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, d.Replication())
	})
	d.mux.HandleFunc("POST "+wire.PathPromote, func(w http.ResponseWriter, _ *http.Request) {
		d.Promote()
		service.WriteJSON(w, http.StatusOK, d.Replication())
	})
	d.mux.HandleFunc("POST "+wire.PathFreeze, func(w http.ResponseWriter, _ *http.Request) {
		d.rep.mu.Lock()
		d.rep.frozen = true
		d.rep.mu.Unlock()
		service.WriteJSON(w, http.StatusOK, d.Replication())
	})
	d.mux.HandleFunc("POST "+wire.PathFollow, func(w http.ResponseWriter, r *http.Request) {
		var f wire.FollowRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&f); err != nil {
			service.WriteError(w, http.StatusBadRequest, "want {\"primary\": BASE_URL}: "+err.Error())
			return
		}
		if err := service.CheckURL(f.Primary); err != nil {
			service.WriteError(w, http.StatusBadRequest, "primary: "+err.Error())
			return
		}
		d.stopFollowing()
		d.startFollowing(f.Primary, f.After)
		service.WriteJSON(w, http.StatusOK, d.Replication())
	})
	d.mux.HandleFunc("POST "+wire.PathRestore, func(w http.ResponseWriter, r *http.Request) {
		n, err := d.restoreFrom(r.Context(), http.MaxBytesReader(w, r.Body, maxRestore))
		switch {
		case errors.Is(err, errNotEmpty):
			service.WriteError(w, http.StatusConflict, err.Error())
		case err != nil:
			service.WriteError(w, http.StatusBadRequest, err.Error())
		default:
			d.rep.mu.Lock()
			d.rep.restored, d.rep.restoreError = n, ""
			d.rep.mu.Unlock()
			service.WriteJSON(w, http.StatusOK, d.Replication())
		}
	})
	d.mux.HandleFunc("POST "+wire.PathResync, func(w http.ResponseWriter, r *http.Request) {
		var f wire.ResyncRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&f); err != nil {
			service.WriteError(w, http.StatusBadRequest, "want {\"from\": BASE_URL}: "+err.Error())
			return
		}
		if err := service.CheckURL(f.From); err != nil {
			service.WriteError(w, http.StatusBadRequest, "from: "+err.Error())
			return
		}
		if err := d.Resync(r.Context(), f.From); err != nil {
			service.WriteError(w, http.StatusBadGateway, err.Error())
			return
		}
		service.WriteJSON(w, http.StatusOK, d.Replication())
	})
}

// refuseWrite answers 503 when the store is a replica: it takes no write
// until it is promoted.
func (d *DB) refuseWrite(w http.ResponseWriter) bool {
	d.rep.mu.Lock()
	f, frozen := d.rep.following, d.rep.frozen
	d.rep.mu.Unlock()
	switch {
	case f != "":
		service.WriteError(w, http.StatusServiceUnavailable, "read-only replica (following "+f+")")
	case frozen:
		service.WriteError(w, http.StatusServiceUnavailable, "frozen: refusing writes (failing back)")
	default:
		return false
	}
	return true
}

// changes answers the change feed: the orders whose last write is
// numbered after ?after, oldest write first, at most ?limit; with ?until
// (unix nanoseconds) only writes committed by then.
func (d *DB) changes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := strconv.ParseInt(q.Get("after"), 10, 64)
	if err != nil && q.Get("after") != "" {
		service.WriteError(w, http.StatusBadRequest, "after: want a sequence number")
		return
	}
	until := int64(math.MaxInt64)
	if v := q.Get("until"); v != "" {
		if until, err = strconv.ParseInt(v, 10, 64); err != nil {
			service.WriteError(w, http.StatusBadRequest, "until: want unix nanoseconds")
			return
		}
	}
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > changesPage {
		limit = changesPage
	}
	rows, err := d.db.QueryContext(r.Context(), `SELECT seq, `+columns+` FROM orders WHERE seq > ? AND updated_at <= ? ORDER BY seq LIMIT ?`,
		after, until, limit)
	if err != nil {
		service.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer rows.Close()
	out := []wire.Change{}
	for rows.Next() {
		var c wire.Change
		var created, updated int64
		o := &c.Order
		if err := rows.Scan(&c.Seq, &o.RequestID, &o.Reference, &o.Customer, &o.AmountCents, &o.CardToken,
			&o.GatewayID, &o.State, &o.Dyno, &o.Replay, &created, &updated); err != nil {
			service.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		o.CreatedAt, o.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		service.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	service.WriteJSON(w, http.StatusOK, out)
}

// startFollowing makes the store a replica of primary, from the change
// after the one numbered after (0: its first).
func (d *DB) startFollowing(primary string, after int64) {
	ctx, cancel := context.WithCancel(context.Background())
	d.rep.mu.Lock()
	d.rep.following, d.rep.frozen = strings.TrimRight(primary, "/"), false
	d.rep.stop, d.rep.done = cancel, make(chan struct{})
	d.rep.appliedSeq, d.rep.caughtUp = after, time.Time{}
	d.rep.promotedAt, d.rep.lagPromoted = time.Time{}, 0
	done := d.rep.done
	d.rep.mu.Unlock()
	go d.follow(ctx, done)
}

// stopFollowing ends the replica's loop and waits for it; the store then
// takes writes.
func (d *DB) stopFollowing() {
	d.rep.mu.Lock()
	stop, done := d.rep.stop, d.rep.done
	d.rep.stop, d.rep.done = nil, nil
	d.rep.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	<-done
	d.rep.mu.Lock()
	defer d.rep.mu.Unlock()
	d.rep.following = ""
}

// follow fetches the primary's changes every poll interval and applies
// them. The lag is in the shipping: a change reaches the replica once it
// is ReplicationLag old, so the changes committed in the last lag before
// the link is cut never do.
func (d *DB) follow(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(cmp.Or(d.cfg.PollInterval.D(), 50*time.Millisecond))
	defer t.Stop()
	for {
		d.fetch(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fetch reads and applies, page by page, the primary's changes after the
// last one applied and at least the lag old.
func (d *DB) fetch(ctx context.Context) {
	for ctx.Err() == nil {
		d.rep.mu.Lock()
		primary, after := d.rep.following, d.rep.appliedSeq
		d.rep.mu.Unlock()
		until := time.Now().Add(-d.cfg.ReplicationLag.D())
		var page []wire.Change
		err := d.getJSON(ctx, fmt.Sprintf("%s%s?after=%d&until=%d&limit=%d", primary, wire.PathChanges, after, until.UnixNano(), changesPage), &page)
		if err == nil && len(page) > 0 {
			orders := make([]wire.OrderRecord, len(page))
			for i, c := range page {
				orders[i] = c.Order
			}
			if aerr := d.upsert(ctx, orders, false); aerr != nil {
				err = fmt.Errorf("apply: %w", aerr)
			}
		}
		d.rep.mu.Lock()
		if err != nil {
			if ctx.Err() == nil {
				d.rep.lastError = err.Error()
			}
			d.rep.mu.Unlock()
			return
		}
		d.rep.lastError, d.rep.lastContact = "", time.Now()
		if n := len(page); n > 0 {
			d.rep.appliedSeq, d.rep.appliedThrough = page[n-1].Seq, page[n-1].Order.UpdatedAt
		}
		if len(page) < changesPage {
			d.rep.caughtUp = until
			d.rep.mu.Unlock()
			return
		}
		d.rep.mu.Unlock()
	}
}

func (d *DB) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := d.rep.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// upsert writes orders as they are, in one transaction; replace first
// deletes every order the store held.
func (d *DB) upsert(ctx context.Context, orders []wire.OrderRecord, replace bool) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM orders`); err != nil {
			return err
		}
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO orders (`+columns+`, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, `+nextSeq+`)
		ON CONFLICT (request_id) DO UPDATE SET reference = excluded.reference, customer = excluded.customer,
			amount_cents = excluded.amount_cents, card_token = excluded.card_token, gateway_id = excluded.gateway_id,
			state = excluded.state, dyno = excluded.dyno, replay = excluded.replay, created_at = excluded.created_at,
			updated_at = excluded.updated_at, seq = excluded.seq`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, o := range orders {
		if _, err := stmt.ExecContext(ctx, o.RequestID, o.Reference, o.Customer, o.AmountCents, o.CardToken, o.GatewayID,
			o.State, o.Dyno, o.Replay, o.CreatedAt.UnixNano(), o.UpdatedAt.UnixNano()); err != nil {
			return fmt.Errorf("order %s: %w", o.RequestID, err)
		}
	}
	return tx.Commit()
}

// Promote makes a replica a primary: it stops following and takes
// writes; what the primary committed and had not shipped yet is lost
// with it. A primary is left as it is.
func (d *DB) Promote() {
	d.rep.mu.Lock()
	following := d.rep.following != ""
	lag := d.lagLocked(time.Now())
	d.rep.mu.Unlock()
	if !following {
		d.rep.mu.Lock()
		d.rep.frozen = false
		d.rep.mu.Unlock()
		return
	}
	d.stopFollowing()
	d.rep.mu.Lock()
	d.rep.promotedAt, d.rep.lagPromoted, d.rep.frozen = time.Now().UTC(), lag, false
	d.rep.mu.Unlock()
}

// Resync replaces every order with those of the store at from (its
// export), in one transaction; a replica stops following first. Failback
// uses it to bring the old primary level with the region that took over.
func (d *DB) Resync(ctx context.Context, from string) error {
	d.stopFollowing()
	orders, err := service.Fetch[wire.OrderRecord](ctx, d.rep.client, strings.TrimRight(from, "/")+wire.PathExport)
	if err != nil {
		return fmt.Errorf("resync from %s: %w", from, err)
	}
	if err := d.upsert(ctx, orders, true); err != nil {
		return fmt.Errorf("resync from %s: %w", from, err)
	}
	d.rep.mu.Lock()
	d.rep.resyncedAt = time.Now().UTC()
	d.rep.mu.Unlock()
	return nil
}

// maxRestore bounds a backup sent to POST /admin/restore.
const maxRestore = 1 << 30

var errNotEmpty = errors.New("the store holds orders already: a backup is restored into an empty store")

// restoreFrom loads a backup (NDJSON orders) into an empty store.
func (d *DB) restoreFrom(ctx context.Context, r io.Reader) (int, error) {
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders`).Scan(&n); err != nil {
		return 0, err
	}
	if n > 0 {
		return 0, errNotEmpty
	}
	orders, err := service.ReadNDJSON[wire.OrderRecord](r)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	if err := d.upsert(ctx, orders, false); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	return len(orders), nil
}

// restore loads the backup at path into an empty store.
func (d *DB) restore(path string) error {
	var n int
	if err := d.db.QueryRow(`SELECT COUNT(*) FROM orders`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil // restored on an earlier start
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		d.rep.restoreError = "no backup at " + path + ": started empty"
		return nil
	}
	if err != nil {
		return fmt.Errorf("--restore: %w", err)
	}
	defer f.Close()
	orders, err := service.ReadNDJSON[wire.OrderRecord](f)
	if err != nil {
		return fmt.Errorf("--restore %s: %w", path, err)
	}
	if err := d.upsert(context.Background(), orders, false); err != nil {
		return fmt.Errorf("--restore %s: %w", path, err)
	}
	d.rep.restored = len(orders)
	return nil
}

// lagLocked is how far behind the primary the store is at now: now minus
// the time before which every change the primary committed is applied.
func (d *DB) lagLocked(now time.Time) time.Duration {
	if d.rep.following == "" || d.rep.caughtUp.IsZero() {
		return 0
	}
	return now.Sub(d.rep.caughtUp)
}

// Replication reports the store's replication state.
func (d *DB) Replication() wire.ReplicationStatus {
	var n int
	var seq int64
	_ = d.db.QueryRow(`SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM orders`).Scan(&n, &seq)
	d.rep.mu.Lock()
	defer d.rep.mu.Unlock()
	s := wire.ReplicationStatus{Role: wire.RolePrimary, Following: d.rep.following, Frozen: d.rep.frozen,
		AppliedSeq: d.rep.appliedSeq, AppliedThrough: d.rep.appliedThrough,
		LastContact: d.rep.lastContact, LastError: d.rep.lastError, PromotedAt: d.rep.promotedAt,
		Orders: n, Seq: seq, Restored: d.rep.restored, RestoreError: d.rep.restoreError, ResyncedAt: d.rep.resyncedAt}
	switch {
	case d.rep.following != "":
		s.Role = wire.RoleReplica
		s.CurrentThrough = d.rep.caughtUp
		s.Lag = wire.Duration(d.lagLocked(time.Now()))
	case !d.rep.promotedAt.IsZero():
		s.Lag = wire.Duration(d.rep.lagPromoted)
	}
	return s
}
