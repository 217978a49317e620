package replayer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/replayer"
	"paydrill/sim/roles"
	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

var _ roles.Config = (*replayer.Config)(nil)

// An order replayed with a final outcome is never sent again, by a later
// pass or by a replayer re-opened on the same store; an error is retried.
func TestSuccessfulReplaysAreNeverResent(t *testing.T) {
	p := startProduction(t)
	capt := startCapture(t)
	store := filepath.Join(t.TempDir(), "replayer.sqlite")
	for _, id := range []string{"r1", "r2", "r3"} {
		captureOrder(t, capt.URL(), id, "ref-"+id, 1500)
	}
	// Production already holds r3: its original request got through too.
	b, _ := json.Marshal(wire.Order{Reference: "ref-r3", Customer: "cus_ref-r3", AmountCents: 1500, CardToken: "tok"})
	req, _ := http.NewRequest(http.MethodPost, p.router.URL()+wire.PathOrders, bytes.NewReader(b))
	req.Header.Set(wire.HeaderRequestID, "r3")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("original r3: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Production down: every attempt is an error, to be retried.
	rp := startReplayer(t, capt.URL(), simtest.ClosedURL(t), store, nil)
	if s := replayPass(t, rp.URL()); s.Pending != 3 || s.Done != 0 {
		t.Errorf("after a pass with production down: %+v, want 3 pending", s)
	}
	rp.Close()

	rp = startReplayer(t, capt.URL(), p.router.URL(), store, nil)
	if s := replayPass(t, rp.URL()); s.Pending != 0 || s.Done != 3 {
		t.Errorf("after a pass with production up: %+v, want 3 done", s)
	}
	attempts := simtest.Fetch[wire.ReplayRecord](t, rp.URL()+wire.PathExport)
	outcomes := map[string]string{}
	for _, a := range attempts {
		outcomes[fmt.Sprintf("%s#%d", a.RequestID, a.Attempt)] = a.Outcome
	}
	want := map[string]string{
		"r1#1": wire.ReplayError, "r2#1": wire.ReplayError, "r3#1": wire.ReplayError,
		"r1#2": wire.ReplayCharged, "r2#2": wire.ReplayCharged, "r3#2": wire.ReplayDuplicate,
	}
	if len(attempts) != 6 || !maps.Equal(outcomes, want) {
		t.Fatalf("attempts %v, want %v", outcomes, want)
	}

	replayPass(t, rp.URL())
	if n := len(simtest.Fetch[wire.ReplayRecord](t, rp.URL()+wire.PathExport)); n != 6 {
		t.Errorf("a second pass made %d attempts, want none", n-6)
	}
	rp.Close()

	rp = startReplayer(t, capt.URL(), p.router.URL(), store, nil)
	defer rp.Close()
	if s := replayPass(t, rp.URL()); s.Pending != 0 || s.Done != 3 {
		t.Errorf("after re-opening: %+v, want 3 done, 0 pending", s)
	}
	if n := len(simtest.Fetch[wire.ReplayRecord](t, rp.URL()+wire.PathExport)); n != 6 {
		t.Errorf("the re-opened replayer made %d attempts, want none", n-6)
	}
	if got, want := chargesByRef(t, p), map[string]int{"ref-r1": 1, "ref-r2": 1, "ref-r3": 1}; !maps.Equal(got, want) {
		t.Errorf("gateway charges %v, want one per order", got)
	}
	var rec wire.OrderRecord
	resp, err := http.Get(p.db.URL() + wire.PathOrders + "/r1")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&rec)
	resp.Body.Close()
	if !rec.Replay {
		t.Errorf("production saved r1 as %+v, want it marked as a replay", rec)
	}
}

// A 4xx from production is final: the order is not sent again.
func TestRejectedIsFinal(t *testing.T) {
	capt := startCapture(t)
	captureOrder(t, capt.URL(), "nope", "ref-nope", 100)
	var mu sync.Mutex
	var got []http.Header
	refusing := simtest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		http.Error(w, `{"error":"no"}`, http.StatusUnprocessableEntity)
	}))
	rp := startReplayer(t, capt.URL(), refusing.URL(), filepath.Join(t.TempDir(), "r.sqlite"), nil)
	defer rp.Close()
	replayPass(t, rp.URL())
	replayPass(t, rp.URL())
	attempts := simtest.Fetch[wire.ReplayRecord](t, rp.URL()+wire.PathExport)
	if len(attempts) != 1 || attempts[0].Outcome != wire.ReplayRejected || attempts[0].Status != http.StatusUnprocessableEntity {
		t.Errorf("attempts %+v, want one rejected", attempts)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Get(wire.HeaderRequestID) != "nope" || got[0].Get(wire.HeaderReplay) != "1" {
		t.Errorf("production saw %v, want the original id and %s: 1", got, wire.HeaderReplay)
	}
}

// Mode auto waits for production's /readyz, then replays on its own.
func TestAutoReplaysOnceProductionIsReady(t *testing.T) {
	p := startProduction(t)
	dynos := p.rt.Dynos()
	if err := p.rt.SetDynos(nil); err != nil {
		t.Fatal(err)
	}
	capt := startCapture(t)
	captureOrder(t, capt.URL(), "a1", "ref-a1", 100)
	captureOrder(t, capt.URL(), "a2", "ref-a2", 100)
	rp := startReplayer(t, capt.URL(), p.router.URL(), filepath.Join(t.TempDir(), "r.sqlite"), func(c *replayer.Config) {
		c.Mode, c.Interval = replayer.ModeAuto, wire.Duration(20*time.Millisecond)
	})
	defer rp.Close()
	simtest.Eventually(t, 5*time.Second, "capture's orders seen as pending", func() bool { return status(t, rp.URL()).Pending == 2 })
	if s := status(t, rp.URL()); s.Passes != 0 {
		t.Errorf("replayed while production was not ready: %+v", s)
	}
	if err := p.rt.SetDynos(dynos); err != nil {
		t.Fatal(err)
	}
	simtest.Eventually(t, 5*time.Second, "both orders replayed", func() bool {
		s := status(t, rp.URL())
		return s.Done == 2 && s.Pending == 0
	})
	if got := chargesByRef(t, p); got["ref-a1"] != 1 || got["ref-a2"] != 1 {
		t.Errorf("gateway charges %v", got)
	}
}

// Mode manual counts what capture holds but replays only when told.
func TestManualOnlyCountsUntilTold(t *testing.T) {
	p := startProduction(t)
	capt := startCapture(t)
	captureOrder(t, capt.URL(), "m1", "ref-m1", 100)
	captureOrder(t, capt.URL(), "m2", "ref-m2", 100)
	rp := startReplayer(t, capt.URL(), p.router.URL(), filepath.Join(t.TempDir(), "r.sqlite"), func(c *replayer.Config) {
		c.Interval = wire.Duration(20 * time.Millisecond)
	})
	defer rp.Close()
	simtest.Eventually(t, 5*time.Second, "capture's orders seen as pending", func() bool { return status(t, rp.URL()).Pending == 2 })
	if s := status(t, rp.URL()); s.Passes != 0 || s.Done != 0 {
		t.Errorf("mode manual replayed untold: %+v", s)
	}
	if s := replayPass(t, rp.URL()); s.Pending != 0 || s.Done != 2 {
		t.Errorf("after POST %s: %+v, want 2 done", wire.PathReplay, s)
	}
}

// Replays leave at most rate per second.
func TestReplaysArePaced(t *testing.T) {
	const rate = 10.0
	p := startProduction(t)
	capt := startCapture(t)
	for _, id := range []string{"p1", "p2", "p3", "p4", "p5"} {
		captureOrder(t, capt.URL(), id, "ref-"+id, 100)
	}
	rp := startReplayer(t, capt.URL(), p.router.URL(), filepath.Join(t.TempDir(), "r.sqlite"),
		func(c *replayer.Config) { c.Rate = rate })
	defer rp.Close()
	replayPass(t, rp.URL())
	attempts := simtest.Fetch[wire.ReplayRecord](t, rp.URL()+wire.PathExport)
	if len(attempts) != 5 {
		t.Fatalf("%d attempts, want 5", len(attempts))
	}
	var at []time.Time
	for _, a := range attempts {
		at = append(at, a.At)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	if span, min := at[4].Sub(at[0]), 4*time.Second/rate*9/10; span < min {
		t.Errorf("5 replays at %g/s spanned %s, want at least %s", rate, span, min)
	}
}

// A second POST /replay while a pass runs starts no second pass.
func TestOnePassAtATime(t *testing.T) {
	p := startProduction(t)
	capt := startCapture(t)
	for _, id := range []string{"o1", "o2", "o3"} {
		captureOrder(t, capt.URL(), id, "ref-"+id, 100)
	}
	rp := startReplayer(t, capt.URL(), p.router.URL(), filepath.Join(t.TempDir(), "r.sqlite"),
		func(c *replayer.Config) { c.Rate = 5 })
	defer rp.Close()
	var said []string
	for range 2 {
		resp, err := http.Post(rp.URL()+wire.PathReplay, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("POST %s: %d", wire.PathReplay, resp.StatusCode)
		}
		said = append(said, strings.TrimSpace(string(b)))
	}
	if !strings.Contains(said[1], "already running") {
		t.Errorf("second POST said %s, want already running", said[1])
	}
	simtest.Eventually(t, 5*time.Second, "the pass over", func() bool { s := status(t, rp.URL()); return s.Passes == 1 && !s.Busy })
	if n := len(simtest.Fetch[wire.ReplayRecord](t, rp.URL()+wire.PathExport)); n != 3 {
		t.Errorf("%d attempts, want 3 (one pass)", n)
	}
}

func TestValidate(t *testing.T) {
	good := replayer.DefaultConfig()
	good.Capture, good.Production = "http://c:1", "http://p:2"
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults with URLs: %v", err)
	}
	for _, tc := range []struct {
		change func(*replayer.Config)
		want   []string
	}{
		{func(c *replayer.Config) { c.Mode = "cron" }, []string{`--mode: must be auto or manual, got "cron"`}},
		{func(c *replayer.Config) { c.Rate = 0 }, []string{"--rate: must be greater than 0"}},
		{func(c *replayer.Config) { c.Interval = 0 }, []string{"--interval:"}},
		{func(c *replayer.Config) { c.Timeout = 0 }, []string{"--timeout:"}},
		{func(c *replayer.Config) { c.Store = "" }, []string{"--store:"}},
		{func(c *replayer.Config) { c.Capture, c.Production = "", "x" }, []string{"--capture: required", "--production:"}},
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
	c := replayer.DefaultConfig()
	fs := pflag.NewFlagSet("replayer", pflag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"--capture=http://c", "--production=http://p", "--mode=manual", "--rate=2.5",
		"--interval=3s", "--timeout=4s", "--store=x.sqlite"}); err != nil {
		t.Fatal(err)
	}
	if c.Capture != "http://c" || c.Production != "http://p" || c.Mode != "manual" || c.Rate != 2.5 ||
		c.Interval.D() != 3*time.Second || c.Timeout.D() != 4*time.Second || c.Store != "x.sqlite" {
		t.Errorf("flags gave %+v", c)
	}
}
