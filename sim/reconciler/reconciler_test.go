package reconciler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/db"
	"paydrill/sim/dist"
	"paydrill/sim/gateway"
	"paydrill/sim/reconciler"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// system is a real gateway and db, and a reconciler between them.
type system struct {
	t       *testing.T
	gateway string
	db      string
	rec     string
	r       *reconciler.Reconciler
}

type opts struct {
	match    string
	interval time.Duration
	latency  float64 // gateway latency, seconds
	gateway  string  // overrides the gateway URL the reconciler uses
}

func startSystem(t *testing.T, o opts) *system {
	t.Helper()
	dir := t.TempDir()
	gc := gateway.DefaultConfig()
	gc.Store = filepath.Join(dir, "gateway.sqlite")
	gc.Latency = dist.Spec{Kind: "const", Value: o.latency}
	g, err := gateway.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	gs := serve(t, g)

	dc := db.DefaultConfig()
	dc.Store = filepath.Join(dir, "orders.sqlite")
	d, err := db.New(dc)
	if err != nil {
		t.Fatal(err)
	}
	ds := serve(t, d)

	rc := reconciler.DefaultConfig()
	rc.DB, rc.Gateway = ds, gs
	if o.gateway != "" {
		rc.Gateway = o.gateway
	}
	rc.Store = filepath.Join(dir, "reconciler.sqlite")
	rc.Timeout = wire.Duration(2 * time.Second)
	rc.Interval = wire.Duration(time.Hour) // passes only when the test asks
	if o.interval > 0 {
		rc.Interval = wire.Duration(o.interval)
	}
	if o.match != "" {
		rc.Match = o.match
	}
	r, err := reconciler.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	rs := serve(t, r)
	return &system{t: t, gateway: gs, db: ds, rec: rs, r: r}
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv, err := service.Start("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URL()
}

func (s *system) do(method, url string, hdr http.Header, body, out any) int {
	s.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			s.t.Fatalf("%s %s: %s: %v", method, url, resp.Status, err)
		}
	}
	return resp.StatusCode
}

// charge makes a real charge at the gateway, as a dyno would have.
func (s *system) charge(requestID, customer string, cents int64, ref string) wire.Charge {
	s.t.Helper()
	var ch wire.Charge
	st := s.do("POST", s.gateway+wire.PathCharges, http.Header{wire.HeaderIdempotencyKey: {requestID}},
		wire.ChargeRequest{Customer: customer, AmountCents: cents, Reference: ref, CardToken: "tok"}, &ch)
	if st != http.StatusCreated {
		s.t.Fatalf("charge %s: %d", ref, st)
	}
	return ch
}

// order stores an order in the db. An empty gatewayID makes it a deferred
// gateway-down order.
func (s *system) order(requestID, customer string, cents int64, ref, gatewayID string, created time.Time) {
	s.t.Helper()
	o := wire.OrderRecord{RequestID: requestID, Reference: ref, Customer: customer, AmountCents: cents,
		CardToken: "tok", GatewayID: gatewayID, State: wire.StateCharged, CreatedAt: created}
	if gatewayID == "" {
		o.GatewayID = fmt.Sprintf("%s%032x", wire.GatewayDownPrefix, len(requestID)*7919)
		o.State = wire.StateDeferred
	}
	if st := s.do("POST", s.db+wire.PathOrders, nil, o, nil); st != http.StatusCreated {
		s.t.Fatalf("order %s: %d", requestID, st)
	}
}

func (s *system) reconcile() wire.WorkerStatus {
	s.t.Helper()
	var st wire.WorkerStatus
	if code := s.do("POST", s.rec+wire.PathReconcile, nil, nil, &st); code != http.StatusOK {
		s.t.Fatalf("POST /reconcile: %d", code)
	}
	return st
}

func (s *system) get(requestID string) wire.OrderRecord {
	s.t.Helper()
	var o wire.OrderRecord
	if st := s.do("GET", s.db+wire.PathOrders+"/"+requestID, nil, nil, &o); st != http.StatusOK {
		s.t.Fatalf("GET order %s: %d", requestID, st)
	}
	return o
}

func (s *system) ledger() []wire.Charge {
	s.t.Helper()
	chs, err := service.Fetch[wire.Charge](context.Background(), http.DefaultClient, s.gateway+wire.PathExport)
	if err != nil {
		s.t.Fatal(err)
	}
	return chs
}

func (s *system) records() []wire.ReconcileRecord {
	s.t.Helper()
	recs, err := service.Fetch[wire.ReconcileRecord](context.Background(), http.DefaultClient, s.rec+wire.PathExport)
	if err != nil {
		s.t.Fatal(err)
	}
	return recs
}

func TestMatchReferenceAdoptsExistingCharge(t *testing.T) {
	s := startSystem(t, opts{match: reconciler.MatchReference})
	// The dyno's charge went through but its answer timed out: the order was
	// accepted as gateway-down.
	ch := s.charge("req-x", "c1", 1500, "ref-x")
	s.order("req-x", "c1", 1500, "ref-x", "", time.Now())

	st := s.reconcile()
	if st.Passes != 1 || st.Done != 1 || st.Pending != 0 || st.Busy || st.LastRun.IsZero() {
		t.Fatalf("status after the pass: %+v", st)
	}
	if o := s.get("req-x"); o.GatewayID != ch.ID || o.State != wire.StateCharged {
		t.Fatalf("order after the pass: %+v, want gateway id %s, charged", o, ch.ID)
	}
	if n := len(s.ledger()); n != 1 {
		t.Fatalf("ledger holds %d charges, want 1 (adopted, not charged again)", n)
	}
	recs := s.records()
	if len(recs) != 1 || recs[0].Action != wire.ReconcileAdopted || recs[0].ChargeID != ch.ID || recs[0].ChargeRef != "ref-x" {
		t.Fatalf("records %+v", recs)
	}
}

func TestNoChargeFoundChargesExactlyOnce(t *testing.T) {
	for _, match := range []string{reconciler.MatchReference, reconciler.MatchSimilar} {
		t.Run(match, func(t *testing.T) {
			s := startSystem(t, opts{match: match})
			s.order("req-y", "c2", 700, "ref-y", "", time.Now())
			s.reconcile()
			s.reconcile() // the order is no longer reconcilable: nothing more happens

			led := s.ledger()
			if len(led) != 1 {
				t.Fatalf("ledger holds %d charges, want exactly 1", len(led))
			}
			ch := led[0]
			if ch.Reference != "ref-y" || ch.Customer != "c2" || ch.AmountCents != 700 || ch.IdempotencyKey != "req-y" {
				t.Fatalf("charge %+v", ch)
			}
			if o := s.get("req-y"); o.GatewayID != ch.ID || o.State != wire.StateCharged {
				t.Fatalf("order %+v, want gateway id %s", o, ch.ID)
			}
			recs := s.records()
			if len(recs) != 1 || recs[0].Action != wire.ReconcileCharged || recs[0].ChargeID != ch.ID || recs[0].ChargeRef != "ref-y" {
				t.Fatalf("records %+v", recs)
			}
		})
	}
}

// The original design's flaw: a repeat purchase (same customer, same amount,
// close in time) has a charge that "looks like" the unpaid order's.
func wrongMatchCase(s *system) (chA wire.Charge) {
	now := time.Now()
	chA = s.charge("req-a", "c1", 1000, "ref-a")
	s.order("req-a", "c1", 1000, "ref-a", chA.ID, now.Add(-2*time.Minute))
	s.order("req-b", "c1", 1000, "ref-b", "", now.Add(-time.Minute)) // never charged
	return chA
}

func TestMatchSimilarAdoptsAnotherOrdersCharge(t *testing.T) {
	s := startSystem(t, opts{match: reconciler.MatchSimilar})
	chA := wrongMatchCase(s)
	s.reconcile()

	if o := s.get("req-b"); o.GatewayID != chA.ID || o.State != wire.StateCharged {
		t.Fatalf("order B %+v, want it to adopt A's charge %s", o, chA.ID)
	}
	if n := len(s.ledger()); n != 1 {
		t.Fatalf("ledger holds %d charges, want 1: B was never charged", n)
	}
	recs := s.records()
	if len(recs) != 1 {
		t.Fatalf("records %+v", recs)
	}
	r := recs[0]
	if r.RequestID != "req-b" || r.Action != wire.ReconcileAdopted || r.ChargeID != chA.ID ||
		r.Reference != "ref-b" || r.ChargeRef != "ref-a" {
		t.Fatalf("record %+v: want B adopting A's charge, charge_reference ref-a visible", r)
	}
}

func TestMatchReferenceChargesTheRepeatPurchase(t *testing.T) {
	s := startSystem(t, opts{match: reconciler.MatchReference})
	chA := wrongMatchCase(s)
	s.reconcile()

	led := s.ledger()
	if len(led) != 2 {
		t.Fatalf("ledger holds %d charges, want 2 (A's and B's own)", len(led))
	}
	o := s.get("req-b")
	if o.GatewayID == chA.ID || o.GatewayID != led[1].ID || led[1].Reference != "ref-b" {
		t.Fatalf("order B %+v, ledger %+v: want B charged itself", o, led)
	}
	recs := s.records()
	if len(recs) != 1 || recs[0].Action != wire.ReconcileCharged || recs[0].ChargeRef != "ref-b" {
		t.Fatalf("records %+v", recs)
	}
}

func TestMatchSimilarOutsideWindowCharges(t *testing.T) {
	s := startSystem(t, opts{match: reconciler.MatchSimilar})
	chA := s.charge("req-a", "c1", 1000, "ref-a")
	// B is from an hour ago; the default window is 10 minutes.
	s.order("req-b", "c1", 1000, "ref-b", "", time.Now().Add(-time.Hour))
	s.reconcile()
	if o := s.get("req-b"); o.GatewayID == chA.ID {
		t.Fatalf("B adopted a charge made 1h after it, outside the 10m window")
	}
	if n := len(s.ledger()); n != 2 {
		t.Fatalf("ledger holds %d charges, want 2", n)
	}
}

// Two passes at once would both see the order and both charge it (the
// gateway's idempotency is off).
func TestNeverTwoPassesAtOnce(t *testing.T) {
	s := startSystem(t, opts{match: reconciler.MatchReference, latency: 0.2})
	s.order("req-z", "c3", 300, "ref-z", "", time.Now())
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(s.rec+wire.PathReconcile, "application/json", nil)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if n := len(s.ledger()); n != 1 {
		t.Fatalf("ledger holds %d charges after concurrent passes, want 1", n)
	}
	if st := s.r.Status(); st.Passes != 3 || st.Done != 1 {
		t.Fatalf("status %+v, want 3 passes, 1 done", st)
	}
}

func TestBackgroundLoopThenClose(t *testing.T) {
	s := startSystem(t, opts{match: reconciler.MatchReference, interval: 30 * time.Millisecond})
	s.order("req-l", "c4", 250, "ref-l", "", time.Now())
	deadline := time.Now().Add(3 * time.Second)
	for s.get("req-l").State != wire.StateCharged {
		if time.Now().After(deadline) {
			t.Fatal("the background loop never reconciled the order")
		}
		time.Sleep(10 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- s.r.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not stop the loop")
	}
	if code := s.do("POST", s.rec+wire.PathReconcile, nil, nil, nil); code != http.StatusServiceUnavailable {
		t.Fatalf("POST /reconcile after Close: %d, want 503", code)
	}
	passes := s.r.Status().Passes
	// A negative check (no pass may start), so nothing to poll for: wait
	// several intervals.
	time.Sleep(100 * time.Millisecond)
	if got := s.r.Status().Passes; got != passes {
		t.Fatalf("passes went from %d to %d after Close", passes, got)
	}
	if n := len(s.ledger()); n != 1 {
		t.Fatalf("ledger holds %d charges, want 1", n)
	}
}

func TestGatewayUnreachableRecordsErrorAndRetries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	s := startSystem(t, opts{match: reconciler.MatchSimilar, gateway: dead})
	s.order("req-e", "c5", 100, "ref-e", "", time.Now())
	st := s.reconcile()
	if st.Pending != 1 || st.Done != 0 {
		t.Fatalf("status %+v, want 1 pending, 0 done", st)
	}
	if o := s.get("req-e"); o.State != wire.StateDeferred || !strings.HasPrefix(o.GatewayID, wire.GatewayDownPrefix) {
		t.Fatalf("order changed although the gateway was unreachable: %+v", o)
	}
	recs := s.records()
	if len(recs) != 1 || recs[0].Action != wire.ReconcileError || recs[0].Error == "" {
		t.Fatalf("records %+v, want one error", recs)
	}
	s.reconcile()
	if n := len(s.records()); n != 2 {
		t.Fatalf("%d records after a second pass, want 2 (retried)", n)
	}
}

func TestFlagsAndValidate(t *testing.T) {
	c := reconciler.DefaultConfig()
	fs := pflag.NewFlagSet("reconciler", pflag.ContinueOnError)
	c.Flags(fs)
	err := fs.Parse([]string{"--db=http://127.0.0.1:1", "--gateway=http://127.0.0.1:2", "--interval=5s",
		"--match=reference", "--window=30s", "--timeout=1s", "--store=r.sqlite"})
	if err != nil {
		t.Fatal(err)
	}
	want := reconciler.Config{DB: "http://127.0.0.1:1", Gateway: "http://127.0.0.1:2", Interval: wire.Duration(5 * time.Second),
		Match: "reference", Window: wire.Duration(30 * time.Second), Timeout: wire.Duration(time.Second), Store: "r.sqlite"}
	if c != want {
		t.Fatalf("flags gave %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := reconciler.Config{Gateway: "not a url", Match: "x", Window: -1}
	err = bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, name := range []string{"--db", "--gateway", "--interval", `--match: must be "similar" or "reference", got "x"`, "--window", "--timeout", "--store"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("Validate = %v; does not name %s", err, name)
		}
	}
	// JSON keys are the documented ones.
	b, _ := json.Marshal(want)
	for _, k := range []string{`"db"`, `"gateway"`, `"interval":"5s"`, `"match"`, `"window":"30s"`, `"timeout":"1s"`, `"store"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}
