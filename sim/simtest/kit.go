package simtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"paydrill/sim/db"
	"paydrill/sim/dist"
	"paydrill/sim/dyno"
	"paydrill/sim/gateway"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// The kit: what the sim packages' tests share. Every component runs real,
// on a free 127.0.0.1 port, and is closed when its test ends.

// Serve starts h on a free port and closes it when the test ends.
func Serve(t testing.TB, h http.Handler) *service.Server {
	t.Helper()
	srv, err := service.Start("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// Must returns a function that fails the test on an error and returns the
// value otherwise: simtest.Must[*dyno.Dyno](t)(dyno.New(c)).
func Must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// ConstSecs is a constant distribution of d, in seconds.
func ConstSecs(d time.Duration) dist.Spec { return dist.Spec{Kind: "const", Value: d.Seconds()} }

// Backend is a real gateway and db for dynos to use.
type Backend struct {
	Gateway, DB *service.Server
}

// StartBackend starts a gateway answering after latency, and a db, with
// their stores in the test's temporary directory.
func StartBackend(t testing.TB, latency time.Duration) Backend {
	t.Helper()
	dir := t.TempDir()
	gw := Must[*gateway.Gateway](t)(gateway.New(gateway.Config{Store: filepath.Join(dir, "gateway.sqlite"), Latency: ConstSecs(latency), Seed: 1}))
	orders := Must[*db.DB](t)(db.New(db.Config{Store: filepath.Join(dir, "orders.sqlite")}))
	return Backend{Gateway: Serve(t, gw), DB: Serve(t, orders)}
}

// StartDyno starts a dyno on b with no service time and the given changes
// to the defaults.
func StartDyno(t testing.TB, b Backend, change func(*dyno.Config)) (*dyno.Dyno, *service.Server) {
	t.Helper()
	c := dyno.DefaultConfig()
	c.Gateway, c.DB = b.Gateway.URL(), b.DB.URL()
	c.ServiceTime = ConstSecs(0)
	if change != nil {
		change(&c)
	}
	d := Must[*dyno.Dyno](t)(dyno.New(c))
	return d, Serve(t, d)
}

// GetJSON GETs url, decodes the answer into v (when not nil) and returns
// the status.
func GetJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		_ = json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

// Fetch reads an NDJSON export.
func Fetch[T any](t testing.TB, url string) []T {
	t.Helper()
	out, err := service.Fetch[T](t.Context(), http.DefaultClient, url)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Eventually polls cond until it holds, failing the test after within.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: still not %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ClosedURL is a base URL nothing listens on.
func ClosedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// Answer is what a client saw of one order.
type Answer struct {
	Status  int
	Header  http.Header
	Body    []byte
	Elapsed time.Duration
	Err     error
}

// ErrorText is the "error" of an error answer.
func (a Answer) ErrorText() string {
	var e wire.ErrorAnswer
	_ = json.Unmarshal(a.Body, &e)
	return e.Error
}

// PostOrder sends o to base's /orders with request id id (none when empty).
func PostOrder(base, id string, o wire.Order) Answer {
	b, _ := json.Marshal(o)
	req, err := http.NewRequest(http.MethodPost, base+wire.PathOrders, bytes.NewReader(b))
	if err != nil {
		return Answer{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.Header.Set(wire.HeaderRequestID, id)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Answer{Err: err, Elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: body, Elapsed: time.Since(start), Err: err}
}

// Order is an order of cents with reference ref, its customer and card
// named after it.
func Order(ref string, cents int64) wire.Order {
	return wire.Order{Reference: ref, Customer: "cus_" + ref, AmountCents: cents, CardToken: "tok_" + ref}
}
