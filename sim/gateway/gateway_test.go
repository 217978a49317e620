package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/dist"
	"paydrill/sim/gateway"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// start runs a gateway with a zero latency (unless latency is set) on a free
// port and returns its base URL.
func start(t *testing.T, idempotency bool, latency *dist.Spec) string {
	t.Helper()
	c := gateway.DefaultConfig()
	c.Store = filepath.Join(t.TempDir(), "gateway.sqlite")
	c.Latency = dist.Spec{Kind: "const", Value: 0}
	if latency != nil {
		c.Latency = *latency
	}
	c.Idempotency = idempotency
	g, err := gateway.New(c)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := service.Start("127.0.0.1:0", g)
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URL()
}

func charge(t *testing.T, base string, req wire.ChargeRequest, key string) (int, wire.Charge) {
	t.Helper()
	b, _ := json.Marshal(req)
	hr, _ := http.NewRequest(http.MethodPost, base+wire.PathCharges, bytes.NewReader(b))
	if key != "" {
		hr.Header.Set(wire.HeaderIdempotencyKey, key)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ch wire.Charge
	if resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, ch
}

func ledger(t *testing.T, base string) []wire.Charge {
	t.Helper()
	chs, err := service.Fetch[wire.Charge](context.Background(), http.DefaultClient, base+wire.PathExport)
	if err != nil {
		t.Fatal(err)
	}
	return chs
}

func search(t *testing.T, base string, q url.Values) []wire.Charge {
	t.Helper()
	resp, err := http.Get(base + wire.PathSearch + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("search %v: %s", q, resp.Status)
	}
	var chs []wire.Charge
	if err := json.NewDecoder(resp.Body).Decode(&chs); err != nil {
		t.Fatal(err)
	}
	return chs
}

var order = wire.ChargeRequest{Customer: "c1", AmountCents: 1234, Reference: "ref-1", CardToken: "tok_1"}

func TestChargeIsRecorded(t *testing.T) {
	base := start(t, false, nil)
	status, ch := charge(t, base, order, "req-1")
	if status != http.StatusCreated {
		t.Fatalf("status %d, want 201", status)
	}
	if !strings.HasPrefix(ch.ID, "ch_") || ch.Customer != "c1" || ch.AmountCents != 1234 ||
		ch.Reference != "ref-1" || ch.IdempotencyKey != "req-1" || ch.CreatedAt.IsZero() {
		t.Fatalf("charge answered: %+v", ch)
	}
	got := ledger(t, base)
	if len(got) != 1 || got[0].ID != ch.ID || got[0].AmountCents != 1234 {
		t.Fatalf("ledger %+v, want the one charge %s", got, ch.ID)
	}
	_, ch2 := charge(t, base, order, "")
	if ch2.ID <= ch.ID {
		t.Fatalf("second charge id %q not after %q", ch2.ID, ch.ID)
	}
}

func TestIdempotencyOnRepeatedKeyChargesOnce(t *testing.T) {
	base := start(t, true, nil)
	s1, ch1 := charge(t, base, order, "req-1")
	s2, ch2 := charge(t, base, order, "req-1")
	if s1 != http.StatusCreated || s2 != http.StatusOK {
		t.Fatalf("statuses %d, %d; want 201 then 200", s1, s2)
	}
	if ch1.ID != ch2.ID {
		t.Fatalf("repeated key answered a new charge %s (first %s)", ch2.ID, ch1.ID)
	}
	if n := len(ledger(t, base)); n != 1 {
		t.Fatalf("ledger holds %d charges, want 1", n)
	}
	// A different key is a different charge.
	if s, _ := charge(t, base, order, "req-2"); s != http.StatusCreated {
		t.Fatalf("new key: status %d", s)
	}
	if n := len(ledger(t, base)); n != 2 {
		t.Fatalf("ledger holds %d charges, want 2", n)
	}
}

func TestIdempotencyOffRepeatedKeyChargesTwice(t *testing.T) {
	base := start(t, false, nil)
	s1, ch1 := charge(t, base, order, "req-1")
	s2, ch2 := charge(t, base, order, "req-1")
	if s1 != http.StatusCreated || s2 != http.StatusCreated || ch1.ID == ch2.ID {
		t.Fatalf("got %d %s and %d %s; want two new charges", s1, ch1.ID, s2, ch2.ID)
	}
	if n := len(ledger(t, base)); n != 2 {
		t.Fatalf("ledger holds %d charges, want 2", n)
	}
}

func TestSearch(t *testing.T) {
	base := start(t, false, nil)
	_, ch := charge(t, base, order, "")
	charge(t, base, wire.ChargeRequest{Customer: "c1", AmountCents: 999, Reference: "other"}, "")
	charge(t, base, wire.ChargeRequest{Customer: "c2", AmountCents: 1234, Reference: "other2"}, "")
	at := ch.CreatedAt
	similar := func(since, until time.Time) url.Values {
		return url.Values{
			"customer": {"c1"}, "amount_cents": {"1234"},
			"since": {since.Format(time.RFC3339Nano)}, "until": {until.Format(time.RFC3339Nano)},
		}
	}
	got := search(t, base, similar(at.Add(-time.Minute), at.Add(time.Minute)))
	if len(got) != 1 || got[0].ID != ch.ID {
		t.Fatalf("within the window: %+v, want just %s", got, ch.ID)
	}
	if got := search(t, base, similar(at.Add(time.Second), at.Add(time.Hour))); len(got) != 0 {
		t.Fatalf("window after the charge: %+v, want none", got)
	}
	if got := search(t, base, similar(at.Add(-time.Hour), at.Add(-time.Second))); len(got) != 0 {
		t.Fatalf("window before the charge: %+v, want none", got)
	}
	got = search(t, base, url.Values{"reference": {"ref-1"}})
	if len(got) != 1 || got[0].ID != ch.ID {
		t.Fatalf("by reference: %+v, want %s", got, ch.ID)
	}
	if got := search(t, base, url.Values{"reference": {"nope"}}); len(got) != 0 {
		t.Fatalf("unknown reference: %+v", got)
	}

	// Oldest first.
	_, later := charge(t, base, order, "")
	got = search(t, base, url.Values{"customer": {"c1"}, "amount_cents": {"1234"}})
	if len(got) != 2 || got[0].ID != ch.ID || got[1].ID != later.ID {
		t.Fatalf("order: %+v, want %s then %s", got, ch.ID, later.ID)
	}

	resp, err := http.Get(base + wire.PathSearch + "?customer=c1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("search without amount: %s, want 400", resp.Status)
	}
}

// The gateway sleeps, then records the charge, whether or not the caller is
// still there: a client that gives up early is still charged.
func TestChargeRecordedAfterClientGaveUp(t *testing.T) {
	base := start(t, false, &dist.Spec{Kind: "const", Value: 0.3})
	b, _ := json.Marshal(order)
	client := &http.Client{Timeout: 50 * time.Millisecond}
	resp, err := client.Post(base+wire.PathCharges, "application/json", bytes.NewReader(b))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the client should have timed out, got %s", resp.Status)
	}
	if n := len(ledger(t, base)); n != 0 {
		t.Fatalf("charge recorded before the latency elapsed (%d charges)", n)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := ledger(t, base)
		if len(got) == 1 && got[0].Reference == "ref-1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned charge was never recorded: ledger %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMalformedChargeRefused(t *testing.T) {
	base := start(t, false, nil)
	resp, err := http.Post(base+wire.PathCharges, "application/json", strings.NewReader("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %s, want 400", resp.Status)
	}
	if n := len(ledger(t, base)); n != 0 {
		t.Fatalf("ledger holds %d charges, want 0", n)
	}
}

func TestLedgerSurvivesRestart(t *testing.T) {
	c := gateway.DefaultConfig()
	c.Store = filepath.Join(t.TempDir(), "gateway.sqlite")
	c.Latency = dist.Spec{Kind: "const"}
	run := func() wire.Charge {
		g, err := gateway.New(c)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := service.Start("127.0.0.1:0", g)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		_, ch := charge(t, srv.URL(), order, "")
		return ch
	}
	first, second := run(), run()
	if first.ID == second.ID {
		t.Fatalf("charge id %s reused after a restart", first.ID)
	}
}

func TestFlagsAndValidate(t *testing.T) {
	c := gateway.DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	fs := pflag.NewFlagSet("gateway", pflag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"--latency=const:value=20ms", "--idempotency", "--seed=7", "--store=x.sqlite"}); err != nil {
		t.Fatal(err)
	}
	if c.Latency.Kind != "const" || c.Latency.Value != 0.02 || !c.Idempotency || c.Seed != 7 || c.Store != "x.sqlite" {
		t.Fatalf("flags not applied: %+v", c)
	}
	for _, name := range []string{"store", "latency", "idempotency", "seed"} {
		if f := fs.Lookup(name); f == nil || f.Usage == "" {
			t.Errorf("flag --%s missing or without help", name)
		}
	}
	bad := gateway.Config{Latency: dist.Spec{Kind: "lognormal", Median: 1, P99: 0.5}}
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "--store") || !strings.Contains(err.Error(), "--latency") {
		t.Fatalf("Validate = %v, want both --store and --latency named", err)
	}
}
