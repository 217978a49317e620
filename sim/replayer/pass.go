package replayer

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// replayable reports whether capture accepted the request (told the
// customer yes): only those are owed to production. A request capture
// refused (402) would become a charge the customer was told failed.
func replayable(c wire.CapturedRequest) bool {
	return c.RequestID != "" && (c.Status == 0 || (c.Status >= 200 && c.Status < 300))
}

// fetchPending reads capture's export, notes the replayable requests, and
// returns those without a final outcome, in capture's order, each once.
func (rp *Replayer) fetchPending() ([]wire.CapturedRequest, error) {
	ctx, cancel := context.WithTimeout(rp.ctx, rp.cfg.Timeout.D())
	defer cancel()
	all, err := service.Fetch[wire.CapturedRequest](ctx, rp.client, rp.cfg.Capture+wire.PathExport)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var todo []wire.CapturedRequest
	rp.mu.Lock()
	for _, c := range all {
		if !replayable(c) || seen[c.RequestID] {
			continue
		}
		seen[c.RequestID] = true
		rp.captured[c.RequestID] = true
		if !rp.ledger.isDone(c.RequestID) {
			todo = append(todo, c)
		}
	}
	rp.mu.Unlock()
	return todo, nil
}

// pass replays every pending captured request, at most Rate a second, and
// waits for their answers.
func (rp *Replayer) pass() {
	defer func() {
		rp.mu.Lock()
		rp.passes++
		rp.lastRun = time.Now().UTC()
		rp.mu.Unlock()
	}()
	todo, err := rp.fetchPending()
	if err != nil {
		return // capture unreadable: a later pass tries again
	}
	gap := time.Duration(float64(time.Second) / rp.cfg.Rate)
	next := time.Now()
	var sends sync.WaitGroup
	for _, c := range todo {
		if !sleepUntil(rp.ctx, next) {
			break
		}
		next = time.Now().Add(gap)
		sends.Add(1)
		go func() {
			defer sends.Done()
			rp.replay(c)
		}()
	}
	sends.Wait()
}

// replay re-sends one captured request to production and records the attempt.
func (rp *Replayer) replay(c wire.CapturedRequest) {
	rec := wire.ReplayRecord{RequestID: c.RequestID}
	status, err := rp.send(c)
	rec.At, rec.Status = time.Now().UTC(), status
	switch {
	case err != nil:
		rec.Outcome, rec.Error = wire.ReplayError, err.Error()
	case status == http.StatusCreated:
		rec.Outcome = wire.ReplayCharged
	case status == http.StatusOK:
		rec.Outcome = wire.ReplayDuplicate
	case status >= 400 && status < 500:
		rec.Outcome = wire.ReplayRejected
	default:
		rec.Outcome = wire.ReplayError
	}
	// An attempt the store did not save leaves the request pending, so a
	// later pass replays it again.
	_, _ = rp.ledger.add(rec)
}

// send makes the captured request again against production.
func (rp *Replayer) send(c wire.CapturedRequest) (int, error) {
	ctx, cancel := context.WithTimeout(rp.ctx, rp.cfg.Timeout.D())
	defer cancel()
	method, path := c.Method, c.Path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = wire.PathOrders
	}
	req, err := http.NewRequestWithContext(ctx, method, rp.cfg.Production+path, bytes.NewReader(c.Body))
	if err != nil {
		return 0, err
	}
	if len(c.Body) == 0 {
		req.Body = http.NoBody
	}
	for k, vs := range c.Header {
		if skipHeader[http.CanonicalHeaderKey(k)] {
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	req.Header.Set(wire.HeaderRequestID, c.RequestID)
	req.Header.Set(wire.HeaderReplay, "1")
	resp, err := rp.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

// skipHeader are the captured headers that belonged to the original
// connection, not the request.
var skipHeader = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Content-Length": true, "Host": true,
}

// sleepUntil waits for t; false when ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
