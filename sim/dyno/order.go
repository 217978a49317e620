package dyno

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"paydrill/sim/wire"
)

// result is what a worker made of one order.
type result struct {
	status      int
	outcome     string
	message     string        // the error text of a non-2xx answer
	gatewayWait time.Duration // time spent waiting for the gateway
}

// chargeResult is the gateway's verdict on one order.
type chargeResult struct {
	gatewayID string // a charge id, or gateway-down-*, or "" when declined
	state     string // wire.StateCharged, StateDeferred or StateFailed
	wait      time.Duration
}

// answer turns a charge into the dyno's answer for a new order.
func (c chargeResult) answer() result {
	if c.state == wire.StateFailed {
		return result{status: http.StatusPaymentRequired, outcome: OutcomeFailed, message: wire.ErrCardFailed, gatewayWait: c.wait}
	}
	return result{status: http.StatusCreated, outcome: c.state, gatewayWait: c.wait}
}

func duplicate(wait time.Duration) result {
	return result{status: http.StatusOK, outcome: OutcomeDuplicate, gatewayWait: wait}
}

func dbFailed(wait time.Duration, err error) result {
	return result{status: http.StatusInternalServerError, outcome: OutcomeError, message: "db: " + err.Error(), gatewayWait: wait}
}

// work de-duplicates, charges and saves one order, as the dedupe setting says.
func (d *Dyno) work(id string, o wire.Order, replay bool) result {
	switch d.cfg.Dedupe {
	case DedupeClaim:
		return d.workClaim(id, o, replay)
	case DedupeCheck:
		return d.workCheck(id, o, replay)
	default:
		return d.workOff(id, o, replay)
	}
}

// workOff charges, then saves: a 409 from the db means the order was
// already held, and this copy charged the customer again.
func (d *Dyno) workOff(id string, o wire.Order, replay bool) result {
	ch := d.charge(id, o)
	return d.insert(d.orderRecord(id, o, replay, ch.gatewayID, ch.state), ch)
}

// workCheck looks the order up, charges, then saves. Two copies of one
// order that both pass the look-up are both charged; the second insert
// then gets a 409 and answers as a duplicate.
func (d *Dyno) workCheck(id string, o wire.Order, replay bool) result {
	status, err := d.dbDo(http.MethodGet, wire.PathOrders+"/"+url.PathEscape(id), nil)
	switch {
	case err != nil:
		return dbFailed(0, err)
	case status == http.StatusOK:
		return duplicate(0)
	case status != http.StatusNotFound:
		return dbFailed(0, fmt.Errorf("look-up answered %d", status))
	}
	ch := d.charge(id, o)
	return d.insert(d.orderRecord(id, o, replay, ch.gatewayID, ch.state), ch)
}

// workClaim inserts the request id first (state claimed) under the db's
// unique constraint; only the copy that wins the claim charges.
func (d *Dyno) workClaim(id string, o wire.Order, replay bool) result {
	status, err := d.dbDo(http.MethodPost, wire.PathClaim, d.orderRecord(id, o, replay, "", wire.StateClaimed))
	switch {
	case err != nil:
		return dbFailed(0, err)
	case status == http.StatusConflict:
		return duplicate(0)
	case status != http.StatusCreated:
		return dbFailed(0, fmt.Errorf("claim answered %d", status))
	}
	ch := d.charge(id, o)
	update := wire.OrderUpdate{GatewayID: ch.gatewayID, State: ch.state}
	status, err = d.dbDo(http.MethodPatch, wire.PathOrders+"/"+url.PathEscape(id), update)
	switch {
	case err != nil:
		return dbFailed(ch.wait, err)
	case status != http.StatusOK:
		return dbFailed(ch.wait, fmt.Errorf("update answered %d", status))
	}
	return ch.answer()
}

// insert saves a charged (or deferred, or failed) order; 409 means the
// request id was already held.
func (d *Dyno) insert(rec wire.OrderRecord, ch chargeResult) result {
	status, err := d.dbDo(http.MethodPost, wire.PathOrders, rec)
	switch {
	case err != nil:
		return dbFailed(ch.wait, err)
	case status == http.StatusCreated:
		return ch.answer()
	case status == http.StatusConflict:
		return duplicate(ch.wait)
	default:
		return dbFailed(ch.wait, fmt.Errorf("insert answered %d", status))
	}
}

func (d *Dyno) orderRecord(id string, o wire.Order, replay bool, gatewayID, state string) wire.OrderRecord {
	now := time.Now().UTC()
	return wire.OrderRecord{
		RequestID:   id,
		Reference:   o.Reference,
		Customer:    o.Customer,
		AmountCents: o.AmountCents,
		CardToken:   o.CardToken,
		GatewayID:   gatewayID,
		State:       state,
		Dyno:        d.cfg.Name,
		Replay:      replay,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
}

// charge charges the order at the gateway within the gateway timeout. A
// timeout, a transport error or a 5xx means the gateway is down: a
// low-risk order is deferred with a gateway-down id, any other fails. A
// 4xx is a declined card.
func (d *Dyno) charge(id string, o wire.Order) chargeResult {
	start := time.Now()
	g := d.postCharge(id, o)
	res := chargeResult{wait: d.gatewayWait(g, time.Since(start))}
	switch {
	case g.err == nil:
		res.gatewayID, res.state = g.chargeID, wire.StateCharged
	case !g.declined && o.AmountCents < d.cfg.RiskLimitCents:
		res.gatewayID, res.state = wire.GatewayDownPrefix+d.hex32(), wire.StateDeferred
	default:
		res.state = wire.StateFailed
	}
	return res
}

// gatewayWait is the modelled time a charge kept its worker waiting, given
// what the gateway said and the measured time of the call. With an exact
// link (Config.ExactGatewayLink) it is the gateway's sampled latency when
// it answered and the gateway timeout when it did not answer in time:
// the round trip is the machine's. Otherwise it is the measured time less
// the gateway's reported overhead, so a slowed link's delay is modelled.
func (d *Dyno) gatewayWait(g gatewayAnswer, measured time.Duration) time.Duration {
	if d.cfg.ExactGatewayLink {
		switch {
		case g.timedOut:
			return d.cfg.GatewayTimeout.D()
		case g.latency >= 0:
			return g.latency
		}
	}
	return max(measured-g.overhead, 0)
}

// gatewayAnswer is what one charge request came back with.
type gatewayAnswer struct {
	chargeID string
	// overhead is what the gateway said it spent beyond its latency
	// (wire.HeaderOverhead), 0 when it said nothing; latency is the
	// latency it sampled (wire.HeaderLatency), -1 when it said nothing.
	overhead, latency time.Duration
	declined          bool // a 4xx answer
	timedOut          bool // no answer within the gateway timeout
	err               error
}

// postCharge sends one charge.
func (d *Dyno) postCharge(id string, o wire.Order) (g gatewayAnswer) {
	g.latency = -1
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.GatewayTimeout.D())
	defer cancel()
	defer func() {
		g.timedOut = g.err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)
	}()
	body, err := json.Marshal(wire.ChargeRequest{
		Customer:    o.Customer,
		AmountCents: o.AmountCents,
		Reference:   o.Reference,
		CardToken:   o.CardToken,
	})
	if err != nil {
		g.err = err
		return g
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.Gateway+wire.PathCharges, bytes.NewReader(body))
	if err != nil {
		g.err = err
		return g
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(wire.HeaderIdempotencyKey, id)
	resp, err := d.client.Do(req)
	if err != nil {
		g.err = err
		return g
	}
	defer resp.Body.Close()
	if ns, perr := strconv.ParseInt(resp.Header.Get(wire.HeaderOverhead), 10, 64); perr == nil && ns > 0 {
		g.overhead = time.Duration(ns)
	}
	if ns, perr := strconv.ParseInt(resp.Header.Get(wire.HeaderLatency), 10, 64); perr == nil && ns >= 0 {
		g.latency = time.Duration(ns)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		g.err = err
		return g
	}
	if resp.StatusCode >= 300 {
		g.declined = resp.StatusCode < 500
		g.err = fmt.Errorf("gateway answered %d", resp.StatusCode)
		return g
	}
	var ch wire.Charge
	if err := json.Unmarshal(b, &ch); err != nil || ch.ID == "" {
		g.err = fmt.Errorf("gateway answered %d without a charge", resp.StatusCode)
		return g
	}
	g.chargeID = ch.ID
	return g
}

// dbDo sends one request to the db and returns its status; the body is
// read and dropped.
func (d *Dyno) dbDo(method, path string, v any) (int, error) {
	ctx, cancel := context.WithTimeout(d.ctx, dbTimeout)
	defer cancel()
	var body io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.cfg.DB+path, body)
	if err != nil {
		return 0, err
	}
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
