// Package router is the routing layer in front of the dyno pool: each
// request goes to one dyno chosen by a strategy (random, round-robin,
// least-conn, p2c), and the router gives up after a timeout, as Heroku's
// router did in the original design.
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

// pool is the set of dynos with this router's count of requests in flight
// at each. It is replaced whole, never changed.
type pool struct {
	urls     []string
	inflight []*atomic.Int64
}

// newPool makes a pool of urls, keeping the in-flight counters of the
// dynos old already had so least-conn stays right across a change.
func newPool(urls []string, old *pool) *pool {
	p := &pool{urls: append([]string(nil), urls...), inflight: make([]*atomic.Int64, len(urls))}
	for i, u := range urls {
		p.inflight[i] = new(atomic.Int64)
		if old == nil {
			continue
		}
		for j, v := range old.urls {
			if v == u {
				p.inflight[i] = old.inflight[j]
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
		mux: http.NewServeMux(),
	}
	rt.pool.Store(newPool(c.Dynos, nil))
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
	out := make([]int64, len(p.inflight))
	for i, c := range p.inflight {
		out[i] = c.Load()
	}
	return out
}

// Close closes idle connections to the dynos.
func (rt *Router) Close() error {
	rt.client.CloseIdleConnections()
	return nil
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
	if len(p.urls) == 0 {
		service.WriteError(w, http.StatusServiceUnavailable, wire.ErrNoDyno)
		return
	}
	counts := make([]int64, len(p.inflight))
	for i, c := range p.inflight {
		counts[i] = c.Load()
	}
	i := rt.strategy.Pick(counts)
	if i < 0 || i >= len(p.urls) {
		i = 0
	}
	p.inflight[i].Add(1)
	defer p.inflight[i].Add(-1)

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
