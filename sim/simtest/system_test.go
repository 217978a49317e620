// Package simtest holds tests and benchmarks of the simulated system as a
// whole: every component real, each on its own 127.0.0.1 port.
package simtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"paydrill/sim/capture"
	"paydrill/sim/db"
	"paydrill/sim/dyno"
	"paydrill/sim/edge"
	"paydrill/sim/gateway"
	"paydrill/sim/replayer"
	"paydrill/sim/router"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// settings is the shape of a system under test.
type settings struct {
	dynos, workers, backlog int
	service                 time.Duration // each dyno's constant service time
	gatewayLatency          time.Duration // the gateway's constant latency
	dedupe                  string
	strategy                string
	failover                time.Duration // the edge's failover timeout
}

// system is a whole simulated payment system.
type system struct {
	gateway, db, capture, router, edge, replayer *service.Server
	dynos                                        []*service.Server
}

// startSystem boots every component (manual replayer) and closes them
// when the test ends.
func startSystem(t testing.TB, s settings) *system {
	t.Helper()
	dir := t.TempDir()
	sys := &system{}
	sys.gateway = Serve(t, Must[*gateway.Gateway](t)(gateway.New(gateway.Config{
		Store: filepath.Join(dir, "gateway.sqlite"), Latency: ConstSecs(s.gatewayLatency), Seed: 1})))
	sys.db = Serve(t, Must[*db.DB](t)(db.New(db.Config{Store: filepath.Join(dir, "orders.sqlite")})))
	cc := capture.DefaultConfig()
	cc.Store = filepath.Join(dir, "capture.sqlite")
	sys.capture = Serve(t, Must[*capture.Capture](t)(capture.New(cc)))

	var urls []string
	for i := range s.dynos {
		c := dyno.DefaultConfig()
		c.Name, c.Seed = "dyno-"+strconv.Itoa(i+1), int64(i+1)
		c.Gateway, c.DB = sys.gateway.URL(), sys.db.URL()
		c.Workers, c.Backlog, c.ServiceTime, c.Dedupe = s.workers, s.backlog, ConstSecs(s.service), s.dedupe
		d := Serve(t, Must[*dyno.Dyno](t)(dyno.New(c)))
		sys.dynos = append(sys.dynos, d)
		urls = append(urls, d.URL())
	}
	rc := router.DefaultConfig()
	rc.Dynos, rc.Strategy, rc.Seed = urls, s.strategy, 1
	sys.router = Serve(t, Must[*router.Router](t)(router.New(rc)))

	ec := edge.DefaultConfig()
	ec.Production, ec.Capture, ec.FailoverTimeout, ec.Seed = sys.router.URL(), sys.capture.URL(), wire.Duration(s.failover), 1
	sys.edge = Serve(t, Must[*edge.Edge](t)(edge.New(ec)))

	pc := replayer.DefaultConfig()
	pc.Capture, pc.Production, pc.Mode, pc.Rate = sys.capture.URL(), sys.router.URL(), replayer.ModeManual, 100
	pc.Store = filepath.Join(dir, "replayer.sqlite")
	sys.replayer = Serve(t, Must[*replayer.Replayer](t)(replayer.New(pc)))
	return sys
}

// answer is what a client saw.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// postOrder sends an order; id may be empty (the edge assigns one).
func postOrder(client *http.Client, base, id string, o wire.Order) (answer, error) {
	b, _ := json.Marshal(o)
	req, err := http.NewRequest(http.MethodPost, base+wire.PathOrders, bytes.NewReader(b))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.Header.Set(wire.HeaderRequestID, id)
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, err
}

func replayerStatus(t testing.TB, base string) wire.WorkerStatus {
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

// replayPass asks the replayer for a pass and waits until it is over.
func (sys *system) replayPass(t testing.TB) {
	t.Helper()
	before := replayerStatus(t, sys.replayer.URL()).Passes
	resp, err := http.Post(sys.replayer.URL()+wire.PathReplay, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	Eventually(t, 10*time.Second, "the replay pass over", func() bool {
		s := replayerStatus(t, sys.replayer.URL())
		return s.Passes > before && !s.Busy
	})
}

// dynoRecord finds the dyno record of an order's first processing.
func (sys *system) dynoRecord(t testing.TB, id string, replay bool) (wire.DynoRecord, bool) {
	t.Helper()
	for _, d := range sys.dynos {
		for _, rec := range Fetch[wire.DynoRecord](t, d.URL()+wire.PathExport) {
			if rec.RequestID == id && rec.Replay == replay {
				return rec, true
			}
		}
	}
	return wire.DynoRecord{}, false
}

// charges returns the gateway's charges for an order reference.
func (sys *system) charges(t testing.TB, ref string) []wire.Charge {
	t.Helper()
	var out []wire.Charge
	for _, ch := range Fetch[wire.Charge](t, sys.gateway.URL()+wire.PathExport) {
		if ch.Reference == ref {
			out = append(out, ch)
		}
	}
	return out
}

// order returns the db's record of an order.
func (sys *system) order(t testing.TB, id string) (wire.OrderRecord, bool) {
	t.Helper()
	resp, err := http.Get(sys.db.URL() + wire.PathOrders + "/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rec wire.OrderRecord
	_ = json.NewDecoder(resp.Body).Decode(&rec)
	return rec, resp.StatusCode == http.StatusOK
}
