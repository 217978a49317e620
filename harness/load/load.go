package load

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"paydrill/sim/wire"
)

// Outcome is what the client saw of one order.
type Outcome struct {
	RequestID  string        `json:"request_id"`
	Seq        uint64        `json:"seq"`
	Code       int           `json:"code"`
	Error      string        `json:"error,omitempty"`
	Sent       time.Duration `json:"sent_ns"` // wall offset from the load's start
	Latency    time.Duration `json:"latency_ns"`
	AnsweredBy string        `json:"answered_by"`
}

// Succeeded is a 2xx answer.
func (o Outcome) Succeeded() bool { return o.Code >= 200 && o.Code < 300 }

// Rejected is a 4xx answer: the customer was told the card failed.
func (o Outcome) Rejected() bool { return o.Code >= 400 && o.Code < 500 }

// Run drives one phase of order traffic with vegeta: set its exported
// fields, then call Attack once.
type Run struct {
	Plan Plan
	Edge string // the edge's base URL
	// SystemFDs is what the system holds in this process (see
	// harness.CheckCapacity), so the load leaves it room.
	SystemFDs int
	Orders    OrderSource
	Results   *os.File // vegeta's JSON results, one a line
	SentLog   *os.File // every order sent, one a line
	// Halt, when closed, ends the attack early (abort_if); nil: never.
	Halt chan struct{}
	// Ctx, when it ends (Ctrl-C), stops the attack and abandons the
	// orders in flight; nil: never.
	Ctx context.Context

	next    atomic.Int64
	mu      sync.Mutex
	sent    []SentOrder
	sentW   *behind
	sentEnc *json.Encoder
	sentErr error
	bySeq   map[uint64]string // vegeta seq → request id
	outs    []Outcome         // under mu while the load runs (the abort watch reads it)
	seen    atomic.Int64
	ok      atomic.Int64
	failed  atomic.Int64 // failovers so far
}

// targeter hands vegeta order after order, each unique.
func (l *Run) targeter() vegeta.Targeter {
	return func(t *vegeta.Target) error {
		i := int(l.next.Add(1) - 1)
		o := l.Orders.Order(i)
		Target(t, l.Edge, o)
		l.mu.Lock()
		l.sent = append(l.sent, o)
		if err := l.sentEnc.Encode(o); err != nil && l.sentErr == nil {
			l.sentErr = err
		}
		l.mu.Unlock()
		return nil
	}
}

// seqTransport notes which request id each vegeta sequence number carried,
// so even a request that got no answer is tied to its order.
type seqTransport struct {
	base http.RoundTripper
	l    *Run
}

func (s seqTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if seq, err := strconv.ParseUint(r.Header.Get("X-Vegeta-Seq"), 10, 64); err == nil {
		s.l.mu.Lock()
		s.l.bySeq[seq] = r.Header.Get(wire.HeaderRequestID)
		s.l.mu.Unlock()
	}
	if s.l.Ctx == nil {
		return s.base.RoundTrip(r)
	}
	// An interrupted run (Ctrl-C) abandons the orders in flight at once
	// instead of waiting for their answers.
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.l.Ctx, cancel)
	resp, err := s.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: func() { stop(); cancel() }}
	return resp, nil
}

// cancelOnClose releases a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// Attack runs the load to its end and returns what the client saw of every
// order, and the wall time from the first to the last hit sent.
func (l *Run) Attack(began time.Time) (time.Duration, error) {
	l.bySeq = map[uint64]string{}
	transport := &http.Transport{
		MaxIdleConnsPerHost: 10000,
		IdleConnTimeout:     30 * time.Second,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Timeout: l.Plan.Timeout, Transport: seqTransport{base: transport, l: l}}
	peak := l.Plan.AskedRate()
	for _, s := range l.Plan.Stages {
		peak = max(peak, s.From, s.To)
	}
	// Enough workers for every order to wait its full timeout at peak
	// rate, and a bound so a broken system cannot exhaust the machine's
	// open files: past it the load falls behind, and says so.
	maxWorkers := MaxInFlight(peak, l.Plan.Timeout.Seconds(), l.SystemFDs, FileLimit())
	atk := vegeta.NewAttacker(
		vegeta.Client(client),
		vegeta.MaxWorkers(maxWorkers),
		vegeta.Workers(min(maxWorkers, 16)),
		vegeta.MaxBody(4096),
	)
	defer atk.Stop()
	defer stopOnHalt(l.Halt, atk)()
	if l.Ctx != nil {
		defer context.AfterFunc(l.Ctx, func() { atk.Stop() })()
	}

	w := newBehind(l.Results)
	enc := vegeta.NewJSONEncoder(w)
	l.sentW = newBehind(l.SentLog)
	l.sentEnc = json.NewEncoder(l.sentW)
	defer w.Close()
	defer l.sentW.Close()
	var first, last time.Time
	// No duration: the pacer alone ends the attack, after exactly the
	// planned number of orders.
	for res := range atk.Attack(l.targeter(), l.Plan.Pacer(), 0, "orders") {
		if err := enc(res); err != nil {
			return 0, err
		}
		if first.IsZero() || res.Timestamp.Before(first) {
			first = res.Timestamp
		}
		if res.Timestamp.After(last) {
			last = res.Timestamp
		}
		l.mu.Lock()
		id := l.bySeq[res.Seq]
		l.mu.Unlock()
		if id == "" {
			id = res.Headers.Get(wire.HeaderRequestID)
		}
		o := Outcome{
			RequestID:  id,
			Seq:        res.Seq,
			Code:       int(res.Code),
			Error:      res.Error,
			Sent:       res.Timestamp.Sub(began),
			Latency:    res.Latency,
			AnsweredBy: res.Headers.Get(wire.HeaderAnsweredBy),
		}
		l.mu.Lock()
		l.outs = append(l.outs, o)
		l.mu.Unlock()
		l.seen.Add(1)
		if o.Succeeded() {
			l.ok.Add(1)
		}
		if o.AnsweredBy == wire.AnsweredByCapture {
			l.failed.Add(1)
		}
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sentErr != nil {
		return 0, l.sentErr
	}
	if err := l.sentW.Close(); err != nil {
		return 0, err
	}
	return last.Sub(first), nil
}

// pacer paces the load as its arrival process says.
func (l Plan) Pacer() vegeta.Pacer {
	if l.Arrivals == ArrivalsPoisson {
		return NewPoissonPacer(l.Stages, l.Seed^0x9e3779b97f4a7c)
	}
	return StagesPacer(l.Stages)
}

// SoFar returns the orders sent and the answers received so far (all of
// them once Attack has returned).
func (l *Run) SoFar() ([]SentOrder, []Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.sent), slices.Clone(l.outs)
}

// Answered is how many orders have been answered so far, how many of them
// succeeded, and how many were answered by capture (failed over).
func (l *Run) Answered() (answered, succeeded, failedOver int64) {
	return l.seen.Load(), l.ok.Load(), l.failed.Load()
}

// Answers is how many orders have been answered so far.
func (l *Run) Answers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.outs)
}

// stopOnHalt stops atk when halt is closed, until the returned release is
// called. A nil halt never stops it.
func stopOnHalt(halt <-chan struct{}, atk *vegeta.Attacker) (release func()) {
	if halt == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-halt:
			atk.Stop()
		case <-done:
		}
	}()
	return func() { close(done) }
}

// FDsPerOrder is what an order in flight holds in this process at most on
// the embedded runtime: both ends of its connections client→edge,
// edge→router, router→dyno (twice that through relays).
const FDsPerOrder = 6

// MaxInFlight is how many orders the load keeps in flight at most: enough
// for every order to wait its full timeout at the peak rate, no more than
// the open files left after the system's own (limit 0: no limit known),
// and 20,000 at most.
func MaxInFlight(peakWall, timeoutSecs float64, systemFDs, limit int) uint64 {
	n := min(max(peakWall*timeoutSecs+10, 10), 20000)
	if limit > 0 {
		left := float64(limit-systemFDs) / (2 * FDsPerOrder)
		n = max(min(n, left), 10)
	}
	return uint64(n)
}
