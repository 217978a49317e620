package dyno_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/dyno"
	"paydrill/sim/roles"
	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

var _ roles.Config = (*dyno.Config)(nil)

var gatewayDownID = regexp.MustCompile(`^gateway-down-[0-9a-f]{32}$`)

// One worker, a backlog of two: the fourth order is refused at once
// while the other three are served in turn.
func TestBacklogFullIsRefusedAtOnce(t *testing.T) {
	const service = 300 * time.Millisecond
	b := simtest.StartBackend(t, 0)
	d, srv := simtest.StartDyno(t, b, func(c *dyno.Config) {
		c.Workers, c.Backlog, c.ServiceTime = 1, 2, simtest.ConstSecs(service)
	})

	answers := make(chan simtest.Answer, 3)
	for i := range 3 {
		go func() {
			answers <- simtest.PostOrder(srv.URL(), fmt.Sprintf("held-%d", i), simtest.Order(fmt.Sprintf("held-%d", i), 1000))
		}()
	}
	simtest.Eventually(t, 5*time.Second, "one order running and two waiting", func() bool {
		s := d.Stats()
		return s.Running == 1 && s.Waiting == 2
	})
	if got := simtest.GetJSON(t, srv.URL()+wire.PathReadyz, nil); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the backlog full: %d, want 503", got)
	}

	refused := simtest.PostOrder(srv.URL(), "refused", simtest.Order("refused", 1000))
	if refused.Err != nil {
		t.Fatal(refused.Err)
	}
	if refused.Status != http.StatusServiceUnavailable || refused.ErrorText() != wire.ErrBacklogFull {
		t.Errorf("fourth order: %d %s, want 503 backlog full", refused.Status, refused.Body)
	}
	if refused.Elapsed > service/3 {
		t.Errorf("fourth order refused after %s, want at once (well before the %s service time)", refused.Elapsed, service)
	}
	for range 3 {
		a := <-answers
		if a.Err != nil || a.Status != http.StatusCreated {
			t.Errorf("held order: %d %s %v, want 201", a.Status, a.Body, a.Err)
		}
	}
	if got := simtest.GetJSON(t, srv.URL()+wire.PathReadyz, nil); got != http.StatusOK {
		t.Errorf("/readyz once idle: %d, want 200", got)
	}

	var queued []time.Duration
	outcomes := map[string]int{}
	for _, rec := range simtest.Fetch[wire.DynoRecord](t, srv.URL()+wire.PathExport) {
		outcomes[rec.Outcome]++
		if rec.Outcome == dyno.OutcomeRefused {
			if rec.RequestID != "refused" || rec.Status != http.StatusServiceUnavailable {
				t.Errorf("refused record: %+v", rec)
			}
			continue
		}
		queued = append(queued, rec.Queued)
	}
	if outcomes[dyno.OutcomeRefused] != 1 || outcomes[dyno.OutcomeCharged] != 3 {
		t.Errorf("export outcomes %v, want 3 charged and 1 refused", outcomes)
	}
	// FIFO behind one worker: the waits are about 0, 1 and 2 service times.
	slices.Sort(queued)
	for i, q := range queued {
		if min := time.Duration(i) * service * 95 / 100; q < min {
			t.Errorf("order %d in line waited %s, want at least %s", i, q, min)
		}
	}
	if s := d.Stats(); s.Taken != 3 || s.Refused != 1 {
		t.Errorf("stats %+v, want 3 taken and 1 refused", s)
	}
}

// The worker is held for the sampled service time plus the wait for the
// gateway, not the larger of the two.
func TestServiceTimeAddsTheGatewayWait(t *testing.T) {
	const service, latency = 200 * time.Millisecond, 100 * time.Millisecond
	b := simtest.StartBackend(t, latency)
	_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) { c.Workers, c.ServiceTime = 1, simtest.ConstSecs(service) })

	a := simtest.PostOrder(srv.URL(), "timed", simtest.Order("timed", 500))
	if a.Err != nil || a.Status != http.StatusCreated {
		t.Fatalf("order: %d %s %v", a.Status, a.Body, a.Err)
	}
	if a.Elapsed < service+latency {
		t.Errorf("answered after %s, want at least service %s + gateway %s", a.Elapsed, service, latency)
	}
	recs := simtest.Fetch[wire.DynoRecord](t, srv.URL()+wire.PathExport)
	if len(recs) != 1 || recs[0].Service != service || recs[0].Dyno != "dyno-1" {
		t.Errorf("records %+v, want one with service %s", recs, service)
	}
}

// Each dedupe variant against a second copy of an order, sent after the
// first finished or racing it.
func TestDedupe(t *testing.T) {
	for _, tc := range []struct {
		dedupe      string
		racing      bool
		wantCharges int
	}{
		{dyno.DedupeOff, false, 2},   // charged before the insert fails
		{dyno.DedupeCheck, false, 1}, // the look-up finds it
		{dyno.DedupeClaim, false, 1}, // the claim fails
		{dyno.DedupeCheck, true, 2},  // both look up before either saves
		{dyno.DedupeClaim, true, 1},  // only one claim wins
	} {
		name := tc.dedupe
		if tc.racing {
			name += "/racing"
		}
		t.Run(name, func(t *testing.T) {
			b := simtest.StartBackend(t, 100*time.Millisecond)
			_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) { c.Dedupe = tc.dedupe })
			o := simtest.Order("dup", 1500)
			var answers []simtest.Answer
			if tc.racing {
				var wg sync.WaitGroup
				var mu sync.Mutex
				for range 2 {
					wg.Go(func() {
						a := simtest.PostOrder(srv.URL(), "same-id", o)
						mu.Lock()
						answers = append(answers, a)
						mu.Unlock()
					})
				}
				wg.Wait()
			} else {
				answers = append(answers, simtest.PostOrder(srv.URL(), "same-id", o), simtest.PostOrder(srv.URL(), "same-id", o))
			}
			var statuses []int
			for _, a := range answers {
				if a.Err != nil {
					t.Fatal(a.Err)
				}
				statuses = append(statuses, a.Status)
				var ans wire.OrderAnswer
				if err := json.Unmarshal(a.Body, &ans); err != nil || ans.RequestID != "same-id" || ans.Status != "accepted" {
					t.Errorf("simtest.Answer body %s, want the order accepted", a.Body)
				}
			}
			slices.Sort(statuses)
			if !slices.Equal(statuses, []int{200, 201}) {
				t.Errorf("statuses %v, want one 201 (new) and one 200 (duplicate)", statuses)
			}
			if got := len(chargesFor(t, b, "dup")); got != tc.wantCharges {
				t.Errorf("%d charges in the ledger, want %d", got, tc.wantCharges)
			}
			rec, ok := orderRecord(t, b, "same-id")
			if !ok || rec.State != wire.StateCharged || !strings.HasPrefix(rec.GatewayID, "ch_") {
				t.Errorf("db holds %+v (found %v), want one charged order", rec, ok)
			}
		})
	}
}

// With the gateway unreachable, a low-risk order is accepted uncharged
// and a high-risk one refused, both saved.
func TestGatewayDownRiskAssessment(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	gw := simtest.ClosedURL(t)
	_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) { c.Gateway = gw })

	low := simtest.PostOrder(srv.URL(), "low", simtest.Order("low", 9999))
	if low.Status != http.StatusCreated {
		t.Errorf("low-risk order: %d %s, want 201", low.Status, low.Body)
	}
	if rec, _ := orderRecord(t, b, "low"); rec.State != wire.StateDeferred || !gatewayDownID.MatchString(rec.GatewayID) {
		t.Errorf("low-risk order saved as %q %q, want deferred gateway-down-<32 hex>", rec.State, rec.GatewayID)
	}
	high := simtest.PostOrder(srv.URL(), "high", simtest.Order("high", 10000))
	if high.Status != http.StatusPaymentRequired || high.ErrorText() != wire.ErrCardFailed {
		t.Errorf("high-risk order: %d %s, want 402 card failed", high.Status, high.Body)
	}
	if rec, _ := orderRecord(t, b, "high"); rec.State != wire.StateFailed {
		t.Errorf("high-risk order saved as %q, want failed", rec.State)
	}
	outcomes := map[string]string{}
	for _, rec := range simtest.Fetch[wire.DynoRecord](t, srv.URL()+wire.PathExport) {
		outcomes[rec.RequestID] = rec.Outcome
	}
	if outcomes["low"] != dyno.OutcomeDeferred || outcomes["high"] != dyno.OutcomeFailed {
		t.Errorf("export outcomes %v", outcomes)
	}
}

// A gateway slower than gateway_timeout counts as down; the worker is
// held for the timeout, not the gateway's latency.
func TestGatewayTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	b := simtest.StartBackend(t, 2*time.Second)
	_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) { c.GatewayTimeout = wire.Duration(timeout) })
	a := simtest.PostOrder(srv.URL(), "slow-gw", simtest.Order("slow-gw", 2500))
	if a.Status != http.StatusCreated {
		t.Fatalf("order: %d %s, want 201", a.Status, a.Body)
	}
	if a.Elapsed < timeout || a.Elapsed > time.Second {
		t.Errorf("answered after %s, want about the %s gateway timeout", a.Elapsed, timeout)
	}
	if rec, _ := orderRecord(t, b, "slow-gw"); rec.State != wire.StateDeferred || !gatewayDownID.MatchString(rec.GatewayID) {
		t.Errorf("saved as %q %q, want deferred gateway-down-<32 hex>", rec.State, rec.GatewayID)
	}
}

// The gateway-down ids come from the seed.
func TestGatewayDownIDsFollowTheSeed(t *testing.T) {
	ids := func(seed int64) string {
		b := simtest.StartBackend(t, 0)
		gw := simtest.ClosedURL(t)
		_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) { c.Gateway, c.Seed = gw, seed })
		simtest.PostOrder(srv.URL(), "seeded", simtest.Order("seeded", 100))
		rec, _ := orderRecord(t, b, "seeded")
		return rec.GatewayID
	}
	a, again, other := ids(7), ids(7), ids(8)
	if !gatewayDownID.MatchString(a) || a != again || a == other {
		t.Errorf("seed 7: %q then %q; seed 8: %q; want the same id for the same seed only", a, again, other)
	}
}

// An order whose caller hung up is still charged and saved.
func TestOrderFinishesAfterTheCallerLeaves(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) { c.ServiceTime = simtest.ConstSecs(300 * time.Millisecond) })
	client := &http.Client{Timeout: 50 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+wire.PathOrders,
		strings.NewReader(`{"reference":"gone","customer":"c","amount_cents":700,"card_token":"t"}`))
	req.Header.Set(wire.HeaderRequestID, "gone")
	if _, err := client.Do(req); err == nil {
		t.Fatal("the client should have given up before the answer")
	}
	simtest.Eventually(t, 5*time.Second, "the order recorded by the dyno", func() bool {
		return len(simtest.Fetch[wire.DynoRecord](t, srv.URL()+wire.PathExport)) == 1
	})
	if rec, ok := orderRecord(t, b, "gone"); !ok || rec.State != wire.StateCharged {
		t.Errorf("db holds %+v (found %v), want the order charged", rec, ok)
	}
	if got := len(chargesFor(t, b, "gone")); got != 1 {
		t.Errorf("%d charges, want 1", got)
	}
}

// Without X-Request-Id the dyno makes one up and says which.
func TestRequestIDAssignedWhenAbsent(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) { c.Name = "dyno-7" })
	a := simtest.PostOrder(srv.URL(), "", simtest.Order("anon", 100))
	var ans wire.OrderAnswer
	_ = json.Unmarshal(a.Body, &ans)
	id := a.Header.Get(wire.HeaderRequestID)
	if a.Status != http.StatusCreated || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) || ans.RequestID != id {
		t.Errorf("simtest.Answer %d, id header %q, body %s", a.Status, id, a.Body)
	}
	if got := a.Header.Get(wire.HeaderDyno); got != "dyno-7" {
		t.Errorf("%s: %q, want dyno-7", wire.HeaderDyno, got)
	}
	if rec, ok := orderRecord(t, b, id); !ok || rec.Dyno != "dyno-7" {
		t.Errorf("db holds %+v (found %v)", rec, ok)
	}
}

// A db that cannot be reached is a 500, and nothing is charged.
func TestDBDownIs500(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	dbURL := simtest.ClosedURL(t)
	_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) { c.DB = dbURL })
	a := simtest.PostOrder(srv.URL(), "no-db", simtest.Order("no-db", 100))
	if a.Status != http.StatusInternalServerError {
		t.Errorf("order: %d %s, want 500", a.Status, a.Body)
	}
	if got := len(chargesFor(t, b, "no-db")); got != 0 {
		t.Errorf("%d charges, want none: claim fails before the charge", got)
	}
}

func TestBadOrderIs400(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	_, srv := simtest.StartDyno(t, b, nil)
	resp, err := http.Post(srv.URL()+wire.PathOrders, "application/json", strings.NewReader(`{"amount_cents":`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
}

func TestValidate(t *testing.T) {
	good := dyno.DefaultConfig()
	good.Gateway, good.DB = "http://127.0.0.1:1", "http://127.0.0.1:2"
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults with URLs: %v", err)
	}
	for _, tc := range []struct {
		change func(*dyno.Config)
		want   []string
	}{
		{func(c *dyno.Config) { c.Workers = 0 }, []string{"--workers: must be at least 1, got 0"}},
		{func(c *dyno.Config) { c.Backlog = -1 }, []string{"--backlog:"}},
		{func(c *dyno.Config) { c.Dedupe = "maybe" }, []string{`--dedupe: must be off, check or claim, got "maybe"`}},
		{func(c *dyno.Config) { c.Gateway = "" }, []string{"--gateway: required"}},
		{func(c *dyno.Config) { c.DB = "localhost:8080" }, []string{"--db:"}},
		{func(c *dyno.Config) { c.ServiceTime.Kind = "gaussian" }, []string{"--service-time:"}},
		{func(c *dyno.Config) { c.GatewayTimeout = 0 }, []string{"--gateway-timeout:"}},
		{func(c *dyno.Config) { c.RiskLimitCents = -5 }, []string{"--risk-limit-cents:"}},
		// every problem at once
		{func(c *dyno.Config) { c.Workers, c.Name = 0, "" }, []string{"--workers:", "--name:"}},
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
		if _, err := dyno.New(c); err == nil {
			t.Errorf("New accepted an invalid config (%q)", tc.want)
		}
	}
}

func TestFlags(t *testing.T) {
	c := dyno.DefaultConfig()
	fs := pflag.NewFlagSet("dyno", pflag.ContinueOnError)
	c.Flags(fs)
	err := fs.Parse([]string{"--workers=4", "--backlog=9", "--service-time=const:value=20ms",
		"--gateway-timeout=2s", "--risk-limit-cents=500", "--dedupe=check", "--name=d2", "--seed=3",
		"--gateway=http://g", "--db=http://d"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 4 || c.Backlog != 9 || c.ServiceTime.Kind != "const" || c.ServiceTime.Value != 0.02 ||
		c.GatewayTimeout.D() != 2*time.Second || c.RiskLimitCents != 500 || c.Dedupe != "check" ||
		c.Name != "d2" || c.Seed != 3 || c.Gateway != "http://g" || c.DB != "http://d" {
		t.Errorf("flags gave %+v", c)
	}
	if f := fs.Lookup("service-time"); f == nil || f.DefValue != "lognormal:median=50ms,p99=900ms" {
		t.Errorf("--service-time default shown as %v", f)
	}
}

func TestConfigJSON(t *testing.T) {
	var c dyno.Config = dyno.DefaultConfig()
	err := json.Unmarshal([]byte(`{"workers": 3, "gateway_timeout": "250ms", "service_time": {"dist": "const", "value": 0.1}}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 3 || c.GatewayTimeout.D() != 250*time.Millisecond || c.ServiceTime.Value != 0.1 || c.Backlog != 50 {
		t.Errorf("decoded %+v", c)
	}
}

// With an exact gateway link the worker's modelled wait for the gateway is
// the latency the gateway sampled, to the nanosecond, however slow the
// real round trip: what the machine adds shows as Work beyond Service +
// Gateway, never as modelled time. Without it (a link a fault may slow)
// the measured wait is modelled.
func TestExactGatewayLinkModelsTheSampledLatencyOnly(t *testing.T) {
	const latency, slowLink = 20 * time.Millisecond, 40 * time.Millisecond
	b := simtest.StartBackend(t, latency)
	target, err := url.Parse(b.Gateway.URL())
	if err != nil {
		t.Fatal(err)
	}
	relay := httputil.NewSingleHostReverseProxy(target)
	slow := simtest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(slowLink) // the machine's share: a slow hop
		relay.ServeHTTP(w, r)
	}))
	for _, exact := range []bool{true, false} {
		_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) { c.Gateway, c.ExactGatewayLink = slow.URL(), exact })
		id := fmt.Sprintf("exact-%v", exact)
		if a := simtest.PostOrder(srv.URL(), id, simtest.Order(id, 2500)); a.Status != http.StatusCreated {
			t.Fatalf("exact %v: %d %s, want 201", exact, a.Status, a.Body)
		}
		recs := simtest.Fetch[wire.DynoRecord](t, srv.URL()+wire.PathExport)
		if len(recs) != 1 {
			t.Fatalf("exact %v: %d records, want 1", exact, len(recs))
		}
		r := recs[0]
		if exact && r.Gateway != latency {
			t.Errorf("exact link: gateway wait %s, want the sampled %s exactly", r.Gateway, latency)
		}
		if !exact && r.Gateway < latency+slowLink {
			t.Errorf("measured link: gateway wait %s, want at least %s (latency and the slow hop)", r.Gateway, latency+slowLink)
		}
		if r.Work < latency+slowLink || r.Busy < r.Work {
			t.Errorf("exact %v: work %s, busy %s; want work ≥ %s and busy ≥ work", exact, r.Work, r.Busy, latency+slowLink)
		}
	}
}
