// Package edge is the edge router of the simulated system (Akamai in the
// original design): it gives every request an X-Request-Id, sends it to
// production, and when production does not answer within the failover
// timeout, answers 5xx or cannot be reached, sends the identical request
// to the capture service and returns capture's answer instead.
package edge

import (
	"bytes"
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

	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// maxBody bounds a request's body.
const maxBody = 1 << 20

// Edge is a running edge router: an http.Handler and an io.Closer.
type Edge struct {
	cfg        Config
	production atomic.Pointer[string]
	client     *http.Client
	mux        *http.ServeMux

	rngMu sync.Mutex
	rng   *rand.Rand

	recMu   sync.Mutex
	records []wire.EdgeRecord
}

// New starts an edge as c describes.
func New(c Config) (*Edge, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	e := &Edge{
		cfg: c,
		client: &http.Client{
			Transport: &http.Transport{
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				MaxIdleConns:        1024,
				MaxIdleConnsPerHost: 512,
				IdleConnTimeout:     90 * time.Second,
				DisableCompression:  true,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		mux: http.NewServeMux(),
		rng: rand.New(rand.NewSource(c.Seed)),
	}
	e.production.Store(&c.Production)
	e.mux.HandleFunc("GET "+wire.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	e.mux.HandleFunc("GET "+wire.PathExport, e.serveExport)
	e.mux.HandleFunc("PUT "+wire.PathTargets, e.servePutProduction)
	e.mux.HandleFunc("GET "+wire.PathTargets, func(w http.ResponseWriter, _ *http.Request) {
		service.WriteJSON(w, http.StatusOK, wire.TargetUpdate{Production: e.Production()})
	})
	e.mux.HandleFunc("/", e.serveForward)
	return e, nil
}

// ServeHTTP serves the edge's HTTP contract (see package sim).
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// Production returns the base URL requests go to first.
func (e *Edge) Production() string { return *e.production.Load() }

// SetProduction switches production to the base URL u; requests already
// sent finish against the old target.
func (e *Edge) SetProduction(u string) error {
	if err := service.CheckURL(u); err != nil {
		return err
	}
	e.production.Store(&u)
	return nil
}

// Records returns a copy of every request record so far, in the order the
// requests were answered.
func (e *Edge) Records() []wire.EdgeRecord {
	e.recMu.Lock()
	defer e.recMu.Unlock()
	return append([]wire.EdgeRecord(nil), e.records...)
}

// Close closes idle connections.
func (e *Edge) Close() error {
	e.client.CloseIdleConnections()
	return nil
}

func (e *Edge) servePutProduction(w http.ResponseWriter, r *http.Request) {
	var t wire.TargetUpdate
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&t); err != nil {
		service.WriteError(w, http.StatusBadRequest, `want {"production": "http://..."}: `+err.Error())
		return
	}
	if err := e.SetProduction(t.Production); err != nil {
		service.WriteError(w, http.StatusBadRequest, "production: "+err.Error())
		return
	}
	service.WriteJSON(w, http.StatusOK, wire.TargetUpdate{Production: e.Production()})
}

func (e *Edge) serveExport(w http.ResponseWriter, _ *http.Request) {
	service.Export(w, e.Records(), nil)
}

// hex32 returns 32 hex characters from the edge's seeded source.
func (e *Edge) hex32() string {
	e.rngMu.Lock()
	defer e.rngMu.Unlock()
	return fmt.Sprintf("%016x%016x", e.rng.Uint64(), e.rng.Uint64())
}

// answer is an upstream's whole answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// serveForward sends the request to production and, failing that, to capture.
func (e *Edge) serveForward(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(wire.HeaderRequestID)
	if id == "" {
		id = e.hex32()
	}
	w.Header().Set(wire.HeaderRequestID, id)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		service.WriteError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	header := r.Header.Clone()
	header.Set(wire.HeaderRequestID, id)
	rec := wire.EdgeRecord{RequestID: id, Start: time.Now().UTC()}
	defer func() {
		rec.End = time.Now().UTC()
		e.recMu.Lock()
		e.records = append(e.records, rec)
		e.recMu.Unlock()
	}()

	prod, err := e.send(r, e.Production(), header, body, e.cfg.FailoverTimeout.D())
	if err == nil {
		rec.ProductionStatus = prod.status
		if prod.status < 500 {
			rec.AnsweredBy, rec.Status = wire.AnsweredByProduction, prod.status
			relay(w, id, wire.AnsweredByProduction, prod)
			return
		}
		rec.ProductionError = fmt.Sprintf("answered %d", prod.status)
	} else {
		rec.ProductionError = describe(err, e.cfg.FailoverTimeout.D())
	}
	if r.Context().Err() != nil { // the client has gone: nobody to fail over for
		rec.AnsweredBy = wire.AnsweredByNone
		return
	}

	capt, err := e.send(r, e.cfg.Capture, header, body, e.cfg.CaptureTimeout.D())
	if err == nil {
		rec.CaptureStatus = capt.status
		if capt.status < 500 {
			rec.AnsweredBy, rec.Status = wire.AnsweredByCapture, capt.status
			relay(w, id, wire.AnsweredByCapture, capt)
			return
		}
		err = fmt.Errorf("answered %d", capt.status)
	} else {
		err = errors.New(describe(err, e.cfg.CaptureTimeout.D()))
	}
	rec.AnsweredBy, rec.Status = wire.AnsweredByNone, http.StatusBadGateway
	w.Header().Set(wire.HeaderAnsweredBy, wire.AnsweredByNone)
	service.WriteError(w, http.StatusBadGateway,
		fmt.Sprintf("production failed (%s) and capture failed (%v)", rec.ProductionError, err))
}

// send makes the request r describes (method, path and query), with header
// and body, to base, and reads the whole answer within timeout.
func (e *Edge) send(r *http.Request, base string, header http.Header, body []byte, timeout time.Duration) (answer, error) {
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, base+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	service.CopyHeader(req.Header, header)
	resp, err := e.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// relay writes an upstream's answer to the client.
func relay(w http.ResponseWriter, id, by string, a answer) {
	service.CopyHeader(w.Header(), a.header)
	w.Header().Set(wire.HeaderRequestID, id)
	w.Header().Set(wire.HeaderAnsweredBy, by)
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// describe says in a few words why a request got no answer.
func describe(err error, timeout time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %s", timeout)
	}
	if errors.Is(err, context.Canceled) {
		return "the client has gone"
	}
	return err.Error()
}
