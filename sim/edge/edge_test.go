package edge_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/edge"
	"paydrill/sim/roles"
	"paydrill/sim/router"
	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

var _ roles.Config = (*edge.Config)(nil)

// Production fails three ways; each time the identical request (same id,
// body and headers) reaches capture and the client gets capture's answer.
func TestFailover(t *testing.T) {
	const failover = 100 * time.Millisecond
	emptyRouter := simtest.Must[*router.Router](t)(router.New(router.DefaultConfig()))
	for _, tc := range []struct {
		name       string
		production func(t *testing.T) string
		wantStatus int    // production's status in the edge record
		wantError  string // production's error in the edge record
	}{
		{"timeout", func(t *testing.T) string { return startDyno(t, 400*time.Millisecond).URL() }, 0, "no answer within 100ms"},
		{"5xx", func(t *testing.T) string { return simtest.Serve(t, emptyRouter).URL() }, http.StatusServiceUnavailable, "answered 503"},
		{"connection refused", closedURLOf, 0, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			capt := startCapture(t)
			e, srv := startEdge(t, tc.production(t), capt.URL(), failover)
			body := orderBody("ord-"+tc.name, 4200)
			a := send(t, srv.URL(), "rid-failover", body, map[string]string{"X-Phone": "android"})

			if a.status != http.StatusCreated || a.by() != wire.AnsweredByCapture {
				t.Fatalf("client got %d answered by %q: %s; want 201 by capture", a.status, a.by(), a.body)
			}
			if got := a.header.Get(wire.HeaderRequestID); got != "rid-failover" {
				t.Errorf("answer's %s: %q", wire.HeaderRequestID, got)
			}
			var ans wire.OrderAnswer
			if err := json.Unmarshal(a.body, &ans); err != nil || ans.RequestID != "rid-failover" || ans.Status != "accepted" {
				t.Errorf("answer body %s, want production's shape", a.body)
			}
			if tc.name == "timeout" && a.elapsed > 350*time.Millisecond {
				t.Errorf("answered after %s: the edge waited for production past the %s failover timeout", a.elapsed, failover)
			}

			captured := simtest.Fetch[wire.CapturedRequest](t, capt.URL()+wire.PathExport)
			if len(captured) != 1 {
				t.Fatalf("capture holds %d requests, want 1", len(captured))
			}
			c := captured[0]
			if c.RequestID != "rid-failover" || !bytes.Equal(c.Body, body) || c.Method != http.MethodPost || c.Path != wire.PathOrders {
				t.Errorf("capture got %s %s id %q body %s; want POST /orders, the same id and body", c.Method, c.Path, c.RequestID, c.Body)
			}
			if got := http.Header(c.Header).Get("X-Phone"); got != "android" {
				t.Errorf("capture got X-Phone %q, want the client's header", got)
			}

			recs := e.Records()
			if len(recs) != 1 {
				t.Fatalf("edge records %+v", recs)
			}
			r := recs[0]
			if r.AnsweredBy != wire.AnsweredByCapture || r.Status != http.StatusCreated || r.CaptureStatus != http.StatusCreated ||
				r.ProductionStatus != tc.wantStatus || !strings.Contains(r.ProductionError, tc.wantError) {
				t.Errorf("edge record %+v; want production status %d, error containing %q", r, tc.wantStatus, tc.wantError)
			}
		})
	}
}

func closedURLOf(t *testing.T) string { return simtest.ClosedURL(t) }

// A request without an id gets one, seen by production and the client.
func TestRequestIDAssigned(t *testing.T) {
	prod := startDyno(t, 0)
	e, srv := startEdge(t, prod.URL(), startCapture(t).URL(), time.Second)
	a := send(t, srv.URL(), "", orderBody("anon", 100), nil)
	id := a.header.Get(wire.HeaderRequestID)
	if a.status != http.StatusCreated || a.by() != wire.AnsweredByProduction {
		t.Fatalf("client got %d by %q: %s", a.status, a.by(), a.body)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("assigned id %q, want 32 hex characters", id)
	}
	dynoSaw := simtest.Fetch[wire.DynoRecord](t, prod.URL()+wire.PathExport)
	if len(dynoSaw) != 1 || dynoSaw[0].RequestID != id {
		t.Errorf("production saw %+v, want the id %q", dynoSaw, id)
	}
	if recs := e.Records(); len(recs) != 1 || recs[0].RequestID != id || recs[0].AnsweredBy != wire.AnsweredByProduction {
		t.Errorf("edge records %+v", recs)
	}
	again := send(t, srv.URL(), "", orderBody("anon2", 100), nil)
	if next := again.header.Get(wire.HeaderRequestID); next == id || next == "" {
		t.Errorf("second assigned id %q, want a new one", next)
	}
}

// Production's own 4xx is its answer: no failover.
func TestProduction4xxIsRelayed(t *testing.T) {
	capt := startCapture(t)
	_, srv := startEdge(t, startDyno(t, 0).URL(), capt.URL(), time.Second)
	a := send(t, srv.URL(), "bad", []byte(`{"amount_cents":`), nil)
	if a.status != http.StatusBadRequest || a.by() != wire.AnsweredByProduction {
		t.Errorf("client got %d by %q, want production's 400", a.status, a.by())
	}
	if n := len(simtest.Fetch[wire.CapturedRequest](t, capt.URL()+wire.PathExport)); n != 0 {
		t.Errorf("capture holds %d requests, want none", n)
	}
}

func TestCaptureFailingTooIs502(t *testing.T) {
	e, srv := startEdge(t, simtest.ClosedURL(t), simtest.ClosedURL(t), time.Second)
	a := send(t, srv.URL(), "doomed", orderBody("doomed", 100), nil)
	if a.status != http.StatusBadGateway || a.by() != wire.AnsweredByNone {
		t.Errorf("client got %d by %q: %s; want 502 by none", a.status, a.by(), a.body)
	}
	if recs := e.Records(); len(recs) != 1 || recs[0].AnsweredBy != wire.AnsweredByNone || recs[0].Status != http.StatusBadGateway {
		t.Errorf("edge records %+v", recs)
	}
}

func TestPutProductionSwitchesTarget(t *testing.T) {
	capt := startCapture(t)
	_, srv := startEdge(t, simtest.ClosedURL(t), capt.URL(), time.Second)
	if a := send(t, srv.URL(), "first", orderBody("first", 100), nil); a.by() != wire.AnsweredByCapture {
		t.Fatalf("with production down: answered by %q", a.by())
	}
	prod := startDyno(t, 0)
	b, _ := json.Marshal(wire.TargetUpdate{Production: prod.URL()})
	req, _ := http.NewRequest(http.MethodPut, srv.URL()+wire.PathTargets, bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %d", wire.PathTargets, resp.StatusCode)
	}
	if a := send(t, srv.URL(), "second", orderBody("second", 100), nil); a.by() != wire.AnsweredByProduction || a.status != http.StatusCreated {
		t.Errorf("after the switch: %d by %q", a.status, a.by())
	}
	bad, _ := http.NewRequest(http.MethodPut, srv.URL()+wire.PathTargets, strings.NewReader(`{"production":"nowhere"}`))
	resp, err = http.DefaultClient.Do(bad)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("PUT of a bad URL: %d, want 400", resp.StatusCode)
	}
}

func TestExport(t *testing.T) {
	_, srv := startEdge(t, startDyno(t, 0).URL(), startCapture(t).URL(), time.Second)
	send(t, srv.URL(), "exported", orderBody("exported", 100), nil)
	recs := simtest.Fetch[wire.EdgeRecord](t, srv.URL()+wire.PathExport)
	if len(recs) != 1 || recs[0].RequestID != "exported" || recs[0].ProductionStatus != http.StatusCreated || recs[0].End.Before(recs[0].Start) {
		t.Errorf("export %+v", recs)
	}
}

func TestValidate(t *testing.T) {
	good := edge.DefaultConfig()
	good.Production, good.Capture = "http://p:1", "http://c:2"
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults with URLs: %v", err)
	}
	for _, tc := range []struct {
		change func(*edge.Config)
		want   []string
	}{
		{func(c *edge.Config) { c.Production = "" }, []string{"--production: required"}},
		{func(c *edge.Config) { c.Capture = "ftp://x" }, []string{"--capture:"}},
		{func(c *edge.Config) { c.FailoverTimeout = 0 }, []string{"--failover-timeout: must be greater than 0"}},
		{func(c *edge.Config) { c.CaptureTimeout, c.Capture = -1, "" }, []string{"--capture-timeout:", "--capture:"}},
	} {
		c := good
		tc.change(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("want %q, got no error", tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}
}

func TestFlags(t *testing.T) {
	c := edge.DefaultConfig()
	fs := pflag.NewFlagSet("edge", pflag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"--production=http://p", "--capture=http://c", "--failover-timeout=250ms",
		"--capture-timeout=5s", "--seed=4"}); err != nil {
		t.Fatal(err)
	}
	if c.Production != "http://p" || c.Capture != "http://c" || c.FailoverTimeout.D() != 250*time.Millisecond ||
		c.CaptureTimeout.D() != 5*time.Second || c.Seed != 4 {
		t.Errorf("flags gave %+v", c)
	}
}
