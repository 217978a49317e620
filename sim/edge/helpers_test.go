package edge_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"paydrill/sim/capture"
	"paydrill/sim/db"
	"paydrill/sim/dist"
	"paydrill/sim/dyno"
	"paydrill/sim/edge"
	"paydrill/sim/gateway"
	"paydrill/sim/service"
	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

// startDyno starts a real dyno, with its own gateway and db, whose
// service time is service.
func startDyno(t testing.TB, service time.Duration) *service.Server {
	t.Helper()
	dir := t.TempDir()
	gw := simtest.Must[*gateway.Gateway](t)(gateway.New(gateway.Config{Store: filepath.Join(dir, "gateway.sqlite"),
		Latency: dist.Spec{Kind: "const"}}))
	orders := simtest.Must[*db.DB](t)(db.New(db.Config{Store: filepath.Join(dir, "orders.sqlite")}))
	c := dyno.DefaultConfig()
	c.Gateway, c.DB = simtest.Serve(t, gw).URL(), simtest.Serve(t, orders).URL()
	c.ServiceTime = dist.Spec{Kind: "const", Value: service.Seconds()}
	return simtest.Serve(t, simtest.Must[*dyno.Dyno](t)(dyno.New(c)))
}

func startCapture(t testing.TB) *service.Server {
	t.Helper()
	c := capture.DefaultConfig()
	c.Store = filepath.Join(t.TempDir(), "capture.sqlite")
	return simtest.Serve(t, simtest.Must[*capture.Capture](t)(capture.New(c)))
}

func startEdge(t testing.TB, production, capture string, failover time.Duration) (*edge.Edge, *service.Server) {
	t.Helper()
	c := edge.DefaultConfig()
	c.Production, c.Capture, c.FailoverTimeout, c.Seed = production, capture, wire.Duration(failover), 1
	e := simtest.Must[*edge.Edge](t)(edge.New(c))
	return e, simtest.Serve(t, e)
}

// answer is what a client saw.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
}

func (a answer) by() string { return a.header.Get(wire.HeaderAnsweredBy) }

func send(t testing.TB, base, id string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+wire.PathOrders, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.Header.Set(wire.HeaderRequestID, id)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b, elapsed: time.Since(start)}
}

func orderBody(ref string, cents int64) []byte {
	b, _ := json.Marshal(wire.Order{Reference: ref, Customer: "cus_" + ref, AmountCents: cents, CardToken: "tok"})
	return b
}
