package replayer_test

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
	"paydrill/sim/gateway"
	"paydrill/sim/replayer"
	"paydrill/sim/router"
	"paydrill/sim/service"
	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

// production is a router over one dyno, with its gateway and db.
type production struct {
	router, gateway, db *service.Server
	rt                  *router.Router
}

func startProduction(t testing.TB) production {
	t.Helper()
	dir := t.TempDir()
	gw := simtest.Serve(t, simtest.Must[*gateway.Gateway](t)(gateway.New(gateway.Config{Store: filepath.Join(dir, "gateway.sqlite"),
		Latency: dist.Spec{Kind: "const"}})))
	orders := simtest.Serve(t, simtest.Must[*db.DB](t)(db.New(db.Config{Store: filepath.Join(dir, "orders.sqlite")})))
	c := dyno.DefaultConfig()
	c.Gateway, c.DB, c.ServiceTime, c.Workers = gw.URL(), orders.URL(), dist.Spec{Kind: "const"}, 4
	d := simtest.Serve(t, simtest.Must[*dyno.Dyno](t)(dyno.New(c)))
	rc := router.DefaultConfig()
	rc.Dynos = []string{d.URL()}
	rt := simtest.Must[*router.Router](t)(router.New(rc))
	return production{router: simtest.Serve(t, rt), gateway: gw, db: orders, rt: rt}
}

func startCapture(t testing.TB) *service.Server {
	t.Helper()
	c := capture.DefaultConfig()
	c.Store = filepath.Join(t.TempDir(), "capture.sqlite")
	return simtest.Serve(t, simtest.Must[*capture.Capture](t)(capture.New(c)))
}

// startReplayer starts a manual replayer on store. Unlike serve, the
// caller closes it (the tests re-open the same store).
func startReplayer(t testing.TB, capture, production, store string, change func(*replayer.Config)) *service.Server {
	t.Helper()
	c := replayer.DefaultConfig()
	c.Capture, c.Production, c.Store, c.Mode = capture, production, store, replayer.ModeManual
	c.Rate = 1000
	if change != nil {
		change(&c)
	}
	srv, err := service.Start("127.0.0.1:0", simtest.Must[*replayer.Replayer](t)(replayer.New(c)))
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// capture sends an order straight to capture, as the edge does on failover.
func captureOrder(t testing.TB, capture, id, ref string, cents int64) {
	t.Helper()
	b, _ := json.Marshal(wire.Order{Reference: ref, Customer: "cus_" + ref, AmountCents: cents, CardToken: "tok"})
	req, _ := http.NewRequest(http.MethodPost, capture+wire.PathOrders, bytes.NewReader(b))
	req.Header.Set(wire.HeaderRequestID, id)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("capture answered %d", resp.StatusCode)
	}
}

func status(t testing.TB, base string) wire.WorkerStatus {
	t.Helper()
	resp, err := http.Get(base + wire.PathStatus)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s wire.WorkerStatus
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// replayPass asks for a pass and waits until it is over.
func replayPass(t testing.TB, base string) wire.WorkerStatus {
	t.Helper()
	before := status(t, base).Passes
	resp, err := http.Post(base+wire.PathReplay, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST %s: %d, want 202", wire.PathReplay, resp.StatusCode)
	}
	var s wire.WorkerStatus
	simtest.Eventually(t, 10*time.Second, "the pass over", func() bool {
		s = status(t, base)
		return s.Passes > before && !s.Busy
	})
	return s
}

// chargesByRef counts the gateway's charges per order reference.
func chargesByRef(t testing.TB, p production) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, ch := range simtest.Fetch[wire.Charge](t, p.gateway.URL()+wire.PathExport) {
		out[ch.Reference]++
	}
	return out
}
