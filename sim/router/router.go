// Package router is the routing layer in front of the dyno pool: each
// request goes to one dyno chosen by a strategy (random, round-robin,
// least-conn, p2c), and the router gives up after a timeout, as Heroku's
// router did in the original design.
//
// With a readiness check (Config.ReadyCheck) the router also does what a
// Kubernetes Service does with a readiness probe: it asks every dyno's
// /readyz each period, takes a dyno out of rotation after
// Config.ReadyFailures failed checks in a row and puts it back after one
// that passes. Without one, as on Heroku, it routes to every dyno blind.
package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// ErrUnreachable is the error text of a 503 when the chosen dyno could not
// be reached (connection refused or reset).
const ErrUnreachable = "dyno unreachable"

// maxBody bounds a request's body.
const maxBody = 1 << 20

// dynoState is what the router knows of one dyno: its requests in flight
// from this router and, with a readiness check, whether it is in rotation.
type dynoState struct {
	inflight atomic.Int64
	// unready: the dyno failed its last ReadyFailures checks in a row.
	unready atomic.Bool
	// fails is the checks failed in a row.
	fails atomic.Int64
}

// pool is the set of dynos with what this router knows of each. It is
// replaced whole, never changed.
type pool struct {
	urls  []string
	dynos []*dynoState
}

// newPool makes a pool of urls, keeping the state of the dynos old
// already had so least-conn and readiness stay right across a change.
func newPool(urls []string, old *pool) *pool {
	p := &pool{urls: append([]string(nil), urls...), dynos: make([]*dynoState, len(urls))}
	for i, u := range urls {
		p.dynos[i] = new(dynoState)
		if old == nil {
			continue
		}
		for j, v := range old.urls {
			if v == u {
				p.dynos[i] = old.dynos[j]
				break
			}
		}
	}
	return p
}

// Router is a running router: an http.Handler and an io.Closer.
type Router struct {
	cfg      Config
	strategy Strategy
	pool     atomic.Pointer[pool]
	client   *http.Client
	mux      *http.ServeMux
	// stop ends the readiness checker; done is closed once it has.
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// New starts a router as c describes.
func New(c Config) (*Router, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	strategy, err := NewNamed(c.Strategy, c.Seed)
	if err != nil {
		return nil, fmt.Errorf("router: --strategy: %w", err)
	}
	rt := &Router{
		cfg:      c,
		strategy: strategy,
		client: &http.Client{
			Transport: &http.Transport{
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				MaxIdleConns:        1024,
				MaxIdleConnsPerHost: 256,
				IdleConnTimeout:     90 * time.Second,
				DisableCompression:  true,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		mux:  http.NewServeMux(),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	rt.pool.Store(newPool(c.Dynos, nil))
	if c.ReadyCheck > 0 {
		go rt.checkReadiness()
	} else {
		close(rt.done)
	}
	rt.mux.HandleFunc("GET "+wire.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	rt.mux.HandleFunc("GET "+wire.PathReadyz, rt.serveReady)
	rt.mux.HandleFunc("PUT "+wire.PathDynos, rt.servePutDynos)
	rt.mux.HandleFunc("GET "+wire.PathDynos, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, rt.Dynos())
	})
	rt.mux.HandleFunc("/", rt.proxy)
	return rt, nil
}

// ServeHTTP serves the router's HTTP contract (see package sim).
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.mux.ServeHTTP(w, r) }

// Dynos returns the pool's base URLs.
func (rt *Router) Dynos() []string {
	return append([]string{}, rt.pool.Load().urls...)
}

// SetDynos replaces the pool; requests in flight finish on their dyno.
func (rt *Router) SetDynos(urls []string) error {
	if err := checkDynos(urls); err != nil {
		return err
	}
	rt.pool.Store(newPool(urls, rt.pool.Load()))
	return nil
}

// InFlight returns, for each dyno of the pool, the requests this router
// has sent it that are not answered yet.
func (rt *Router) InFlight() []int64 {
	p := rt.pool.Load()
	out := make([]int64, len(p.dynos))
	for i, d := range p.dynos {
		out[i] = d.inflight.Load()
	}
	return out
}

// Ready returns, for each dyno of the pool, whether it is in rotation:
// always true without a readiness check.
func (rt *Router) Ready() []bool {
	p := rt.pool.Load()
	out := make([]bool, len(p.dynos))
	for i, d := range p.dynos {
		out[i] = !d.unready.Load()
	}
	return out
}

// Close stops the readiness checks and closes idle connections to the
// dynos.
func (rt *Router) Close() error {
	rt.closeOnce.Do(func() { close(rt.stop) })
	<-rt.done
	rt.client.CloseIdleConnections()
	return nil
}

// checkReadiness asks every dyno of the pool for /readyz each ReadyCheck,
// the checks of one round side by side, until Close.
func (rt *Router) checkReadiness() {
	defer close(rt.done)
	period := rt.cfg.ReadyCheck.D()
	tick := time.NewTicker(period)
	defer tick.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-rt.stop
		cancel()
	}()
	for {
		select {
		case <-rt.stop:
			return
		case <-tick.C:
		}
		p := rt.pool.Load()
		var wg sync.WaitGroup
		for i, d := range p.dynos {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok := rt.probe(ctx, p.urls[i], period)
				if ctx.Err() != nil {
					return
				}
				if ok {
					d.fails.Store(0)
					d.unready.Store(false)
					return
				}
				if d.fails.Add(1) >= int64(rt.cfg.ReadyFailures) {
					d.unready.Store(true)
				}
			}()
		}
		wg.Wait()
	}
}

// probe is one readiness check: GET /readyz answered 200 within timeout,
// as a Kubernetes HTTP probe counts it.
func (rt *Router) probe(ctx context.Context, base string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return service.Ready(ctx, rt.client, base)
}

func (rt *Router) serveReady(w http.ResponseWriter, _ *http.Request) {
	if len(rt.pool.Load().urls) == 0 {
		service.WriteError(w, http.StatusServiceUnavailable, wire.ErrNoDyno)
		return
	}
	service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (rt *Router) servePutDynos(w http.ResponseWriter, r *http.Request) {
	var urls []string
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&urls); err != nil {
		service.WriteError(w, http.StatusBadRequest, "want a JSON array of dyno base URLs: "+err.Error())
		return
	}
	if err := rt.SetDynos(urls); err != nil {
		service.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	service.WriteJSON(w, http.StatusOK, rt.Dynos())
}

// proxy sends the request to one dyno and relays its answer.
func (rt *Router) proxy(w http.ResponseWriter, r *http.Request) {
	if id := r.Header.Get(wire.HeaderRequestID); id != "" {
		w.Header().Set(wire.HeaderRequestID, id)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		service.WriteError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	p := rt.pool.Load()
	// The strategy picks among the dynos in rotation: all of them without
	// a readiness check.
	counts := make([]int64, 0, len(p.dynos))
	in := make([]int, 0, len(p.dynos))
	for i, d := range p.dynos {
		if !d.unready.Load() {
			counts = append(counts, d.inflight.Load())
			in = append(in, i)
		}
	}
	if len(in) == 0 {
		service.WriteError(w, http.StatusServiceUnavailable, wire.ErrNoDyno)
		return
	}
	k := rt.strategy.Pick(counts)
	if k < 0 || k >= len(in) {
		k = 0
	}
	i := in[k]
	p.dynos[i].inflight.Add(1)
	defer p.dynos[i].inflight.Add(-1)

	status, header, answer, err := rt.forward(r, p.urls[i], body)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			service.WriteError(w, http.StatusServiceUnavailable, wire.ErrTimeout)
		} else {
			service.WriteError(w, http.StatusServiceUnavailable, ErrUnreachable)
		}
		return
	}
	service.CopyHeader(w.Header(), header)
	w.WriteHeader(status)
	_, _ = w.Write(answer)
}

// forward sends r (with body) to the dyno at base and reads the whole
// answer within the router's timeout.
func (rt *Router) forward(r *http.Request, base string, body []byte) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(r.Context(), rt.cfg.Timeout.D())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, base+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	service.CopyHeader(req.Header, r.Header)
	resp, err := rt.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, answer, nil
}
