package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"paydrill/sim/dist"
	"paydrill/sim/wire"
)

// Every charge says how long the gateway spent on it beyond its sampled
// latency, so a dyno can leave that out of the time it holds a worker.
func TestChargeReportsItsOverhead(t *testing.T) {
	const latency = 30 * time.Millisecond
	base := start(t, false, &dist.Spec{Kind: "const", Value: latency.Seconds()})
	b, _ := json.Marshal(wire.ChargeRequest{Customer: "cus_1", AmountCents: 100, Reference: "ord-1", CardToken: "tok_1"})
	began := time.Now()
	resp, err := http.Post(base+wire.PathCharges, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	wait := time.Since(began)
	ns, err := strconv.ParseInt(resp.Header.Get(wire.HeaderOverhead), 10, 64)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d with %s %q: %v; want 201 and a number of nanoseconds", resp.StatusCode, wire.HeaderOverhead,
			resp.Header.Get(wire.HeaderOverhead), err)
	}
	// The overhead excludes the latency: it fits in what the caller waited
	// beyond the latency.
	if overhead := time.Duration(ns); overhead < 0 || overhead > wait-latency {
		t.Fatalf("overhead %s with a %s latency, but the caller waited %s in all", overhead, latency, wait)
	}
}
