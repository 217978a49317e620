// Package dyno is one production app server of the simulated system: a
// fixed number of workers with a backlog queue in front of them, each order
// de-duplicated by request id against the db, charged at the gateway and
// saved. When the gateway does not answer, low-risk orders are accepted
// uncharged with a gateway-down id, as in the original design.
package dyno

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"paydrill/sim/dist"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// Outcomes a dyno records for an order, beyond the gateway's states.
const (
	OutcomeCharged   = wire.StateCharged  // charged at the gateway
	OutcomeDeferred  = wire.StateDeferred // accepted uncharged: the gateway was down
	OutcomeFailed    = wire.StateFailed   // refused: 402 card failed
	OutcomeDuplicate = "duplicate"        // the request id was already held: 200
	OutcomeError     = "error"            // bad request or db trouble: 4xx/5xx
	OutcomeRefused   = "refused"          // backlog full: 503 at once
)

// PathStats serves the dyno's Stats as JSON.
const PathStats = "/admin/stats"

// dbTimeout bounds one call to the db, so a blackholed db link frees the
// worker eventually (the contract has no setting for it).
const dbTimeout = 30 * time.Second

// maxBody bounds an order's body.
const maxBody = 1 << 20

// Stats is a snapshot of a dyno's queue and counters.
type Stats struct {
	Running int64 `json:"running"` // orders a worker is on now
	Waiting int64 `json:"waiting"` // orders waiting in the backlog now
	Taken   int64 `json:"taken"`   // orders given a worker since start
	Refused int64 `json:"refused"` // orders refused with "backlog full" since start
}

// Dyno is a running dyno: an http.Handler and an io.Closer.
type Dyno struct {
	cfg     Config
	mux     *http.ServeMux
	client  *http.Client
	queue   *queue
	service *dist.Sampler

	rngMu sync.Mutex
	rng   *rand.Rand // gateway-down ids and request ids the caller left out

	taken, refused atomic.Int64

	recMu   sync.Mutex
	records []wire.DynoRecord

	// ctx ends on Close: it is the parent of every order's work, never
	// the caller's request, so an order runs to the end when its caller
	// has gone.
	ctx    context.Context
	cancel context.CancelFunc
	lifeMu sync.Mutex
	closed bool
	orders sync.WaitGroup
}

// New starts a dyno as c describes.
func New(c Config) (*Dyno, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("dyno: %w", err)
	}
	st, err := c.ServiceTime.Dist()
	if err != nil {
		return nil, fmt.Errorf("dyno: --service-time: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dyno{
		cfg:     c,
		mux:     http.NewServeMux(),
		client:  &http.Client{Transport: newTransport(c.Workers)},
		queue:   newQueue(c.Workers, c.Backlog),
		service: dist.NewSampler(st, c.Seed),
		rng:     rand.New(rand.NewSource(c.Seed ^ 0x5eed1d5)),
		ctx:     ctx,
		cancel:  cancel,
	}
	d.mux.HandleFunc("POST "+wire.PathOrders, d.serveOrder)
	d.mux.HandleFunc("GET "+wire.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	d.mux.HandleFunc("GET "+wire.PathReadyz, d.serveReady)
	d.mux.HandleFunc("GET "+wire.PathExport, d.serveExport)
	d.mux.HandleFunc("GET "+PathStats, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, d.Stats())
	})
	return d, nil
}

// newTransport keeps enough connections alive to the gateway and the db
// for every worker.
func newTransport(workers int) *http.Transport {
	idle := max(4*workers, 16)
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4 * idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// ServeHTTP serves the dyno's HTTP contract (see package sim).
func (d *Dyno) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

// Stats returns the dyno's queue and counters now.
func (d *Dyno) Stats() Stats {
	return Stats{
		Running: d.queue.running.Load(),
		Waiting: d.queue.waiting.Load(),
		Taken:   d.taken.Load(),
		Refused: d.refused.Load(),
	}
}

// Records returns a copy of every order record so far, in the order the
// orders finished.
func (d *Dyno) Records() []wire.DynoRecord {
	d.recMu.Lock()
	defer d.recMu.Unlock()
	return append([]wire.DynoRecord(nil), d.records...)
}

// Close refuses new orders, abandons the gateway and db calls of the
// orders in progress, waits for them, and closes idle connections. Safe
// to call twice.
func (d *Dyno) Close() error {
	d.lifeMu.Lock()
	d.closed = true
	d.lifeMu.Unlock()
	d.cancel()
	d.orders.Wait()
	d.client.CloseIdleConnections()
	return nil
}

func (d *Dyno) serveReady(w http.ResponseWriter, _ *http.Request) {
	if d.queue.full() {
		service.WriteError(w, http.StatusServiceUnavailable, wire.ErrBacklogFull)
		return
	}
	service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (d *Dyno) serveExport(w http.ResponseWriter, _ *http.Request) {
	service.Export(w, d.Records(), nil)
}

func (d *Dyno) record(rec wire.DynoRecord) {
	d.recMu.Lock()
	d.records = append(d.records, rec)
	d.recMu.Unlock()
}

// hex32 returns 32 hex characters from the dyno's seeded source.
func (d *Dyno) hex32() string {
	d.rngMu.Lock()
	defer d.rngMu.Unlock()
	return fmt.Sprintf("%016x%016x", d.rng.Uint64(), d.rng.Uint64())
}

// begin registers an order in progress, or reports that the dyno is closed.
func (d *Dyno) begin() bool {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	if d.closed {
		return false
	}
	d.orders.Add(1)
	return true
}

// serveOrder is POST /orders: queue, work, answer.
func (d *Dyno) serveOrder(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	w.Header().Set(wire.HeaderDyno, d.cfg.Name)
	id := r.Header.Get(wire.HeaderRequestID)
	if id == "" {
		id = d.hex32()
	}
	w.Header().Set(wire.HeaderRequestID, id)
	rec := wire.DynoRecord{
		RequestID: id,
		Dyno:      d.cfg.Name,
		Arrived:   arrived.UTC(),
		Replay:    r.Header.Get(wire.HeaderReplay) == "1",
	}
	finish := func(status int, outcome string, body any) {
		rec.Status, rec.Outcome, rec.Finished = status, outcome, time.Now().UTC()
		d.record(rec)
		service.WriteJSON(w, status, body)
	}

	var order wire.Order
	if err := decodeOrder(r, &order); err != nil {
		finish(http.StatusBadRequest, OutcomeError, wire.ErrorAnswer{Error: "bad order: " + err.Error()})
		return
	}
	if !d.begin() {
		finish(http.StatusServiceUnavailable, OutcomeError, wire.ErrorAnswer{Error: "dyno closed"})
		return
	}
	defer d.orders.Done()

	start, ok := d.queue.enter(d.ctx, arrived)
	if !ok {
		if d.ctx.Err() != nil {
			finish(http.StatusServiceUnavailable, OutcomeError, wire.ErrorAnswer{Error: "dyno closed"})
			return
		}
		d.refused.Add(1)
		finish(http.StatusServiceUnavailable, OutcomeRefused, wire.ErrorAnswer{Error: wire.ErrBacklogFull})
		return
	}
	d.taken.Add(1)
	rec.Queued = start.Sub(arrived)
	rec.Service = time.Duration(d.service.Sample() * float64(time.Second))

	began := time.Now()
	res := d.work(id, order, rec.Replay)

	// The worker is busy for exactly the sampled service time plus the
	// wait for the gateway, unless the work itself took longer. Its model
	// clock runs from start, so the lateness of this goroutine's wake-ups
	// never adds to any order's queue time (see queue).
	rec.Gateway = res.gatewayWait
	rec.Work = time.Since(began)
	rec.Busy = max(rec.Service+res.gatewayWait, rec.Work)
	end := start.Add(rec.Busy)
	d.hold(end)
	d.queue.leave(end)

	if res.status >= 400 {
		finish(res.status, res.outcome, wire.ErrorAnswer{Error: res.message})
		return
	}
	finish(res.status, res.outcome, wire.OrderAnswer{
		RequestID:   id,
		Reference:   order.Reference,
		AmountCents: order.AmountCents,
		Status:      "accepted",
	})
}

// hold sleeps until deadline, or until the dyno closes.
func (d *Dyno) hold(deadline time.Time) {
	wait := time.Until(deadline)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-d.ctx.Done():
	}
}

func decodeOrder(r *http.Request, o *wire.Order) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	if err := dec.Decode(o); err != nil {
		return err
	}
	if o.AmountCents < 0 {
		return errors.New("amount_cents must be 0 or more")
	}
	return nil
}
