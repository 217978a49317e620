// Package replayer sends the orders the capture service took during a
// failover back to production, with their original X-Request-Id so
// production can recognise the ones it already holds ("Chocolate"'s replay
// in the original design). Every attempt is recorded in SQLite; an order
// replayed with a final outcome (charged, duplicate, rejected) is never
// sent again, even after a restart; an error is retried on the next pass.
package replayer

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// Replayer is a running replayer: an http.Handler and an io.Closer.
type Replayer struct {
	cfg    Config
	client *http.Client
	ledger *ledger
	mux    *http.ServeMux

	busy atomic.Bool // a pass is running

	mu       sync.Mutex
	captured map[string]bool // replayable request ids seen at capture
	passes   int
	lastRun  time.Time
	closed   bool

	ctx     context.Context // ends on Close
	cancel  context.CancelFunc
	running sync.WaitGroup // the auto loop and passes
}

// New opens the attempts store and starts the loop that watches capture
// (and, in mode auto, starts passes).
func New(c Config) (*Replayer, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("replayer: %w", err)
	}
	l, err := openLedger(c.Store)
	if err != nil {
		return nil, fmt.Errorf("replayer: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rp := &Replayer{
		cfg: c,
		client: &http.Client{
			Transport: &http.Transport{
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				MaxIdleConns:        256,
				MaxIdleConnsPerHost: 128,
				IdleConnTimeout:     90 * time.Second,
				DisableCompression:  true,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ledger:   l,
		mux:      http.NewServeMux(),
		captured: map[string]bool{},
		ctx:      ctx,
		cancel:   cancel,
	}
	rp.mux.HandleFunc("POST "+wire.PathReplay, func(w http.ResponseWriter, _ *http.Request) {
		status := "started"
		if !rp.Start() {
			status = "already running"
		}
		service.WriteJSON(w, http.StatusAccepted, map[string]string{"status": status})
	})
	rp.mux.HandleFunc("GET "+wire.PathStatus, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, rp.Status())
	})
	rp.mux.HandleFunc("GET "+wire.PathExport, rp.serveExport)
	rp.mux.HandleFunc("GET "+wire.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	rp.running.Add(1)
	go rp.loop()
	return rp, nil
}

// ServeHTTP serves the replayer's HTTP contract (see package sim).
func (rp *Replayer) ServeHTTP(w http.ResponseWriter, r *http.Request) { rp.mux.ServeHTTP(w, r) }

// Start begins a pass in the background and reports whether it did: it
// does not when a pass is already running or the replayer is closed.
func (rp *Replayer) Start() bool {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.closed || !rp.busy.CompareAndSwap(false, true) {
		return false
	}
	rp.running.Add(1)
	go func() {
		defer rp.running.Done()
		defer rp.busy.Store(false)
		rp.pass()
	}()
	return true
}

// Status reports the replayer's progress. Pending counts the replayable
// orders capture held at the last look that have no final outcome yet.
func (rp *Replayer) Status() wire.WorkerStatus {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	pending := 0
	for id := range rp.captured {
		if !rp.ledger.isDone(id) {
			pending++
		}
	}
	return wire.WorkerStatus{
		Pending: pending,
		Done:    rp.ledger.doneCount(),
		Passes:  rp.passes,
		Busy:    rp.busy.Load(),
		LastRun: rp.lastRun,
	}
}

// Records returns every replay attempt recorded so far, oldest first
// (those of earlier runs on the same store included).
func (rp *Replayer) Records() ([]wire.ReplayRecord, error) { return rp.ledger.all() }

// Close stops the loop, abandons the pass in progress (its sends end at
// once and are recorded as errors), waits for both, and closes the store.
// Safe to call twice.
func (rp *Replayer) Close() error {
	rp.mu.Lock()
	if rp.closed {
		rp.mu.Unlock()
		return nil
	}
	rp.closed = true
	rp.mu.Unlock()
	rp.cancel()
	rp.running.Wait()
	rp.client.CloseIdleConnections()
	return rp.ledger.close()
}

func (rp *Replayer) serveExport(w http.ResponseWriter, _ *http.Request) {
	recs, err := rp.ledger.all()
	service.Export(w, recs, err)
}

// loop looks at capture every interval, so Status stays current; in mode
// auto it also starts a pass when one is due.
func (rp *Replayer) loop() {
	defer rp.running.Done()
	t := time.NewTicker(rp.cfg.Interval.D())
	defer t.Stop()
	for {
		select {
		case <-rp.ctx.Done():
			return
		case <-t.C:
		}
		if rp.busy.Load() {
			continue
		}
		if rp.cfg.Mode != ModeAuto {
			_, _ = rp.fetchPending()
			continue
		}
		if rp.due() {
			rp.Start()
		}
	}
}

// due reports whether capture holds orders not yet replayed and
// production's /readyz answers 200.
func (rp *Replayer) due() bool {
	if _, err := rp.fetchPending(); err != nil || rp.Status().Pending == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(rp.ctx, rp.cfg.Timeout.D())
	defer cancel()
	return service.Ready(ctx, rp.client, rp.cfg.Production)
}
