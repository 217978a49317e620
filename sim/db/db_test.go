package db_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/db"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

func start(t *testing.T) string {
	t.Helper()
	c := db.DefaultConfig()
	c.Store = filepath.Join(t.TempDir(), "orders.sqlite")
	d, err := db.New(c)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := service.Start("127.0.0.1:0", d)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URL()
}

// do sends body (JSON) and decodes the answer into out when out is not nil.
func do(t *testing.T, method, url string, body, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, url, resp.Status, err)
		}
	}
	return resp.StatusCode
}

func TestInsertAndGet(t *testing.T) {
	base := start(t)
	o := wire.OrderRecord{RequestID: "r1", Reference: "ref-1", Customer: "c1", AmountCents: 500,
		CardToken: "tok", GatewayID: "ch_00000001", State: wire.StateCharged, Dyno: "dyno-1"}
	var got wire.OrderRecord
	if s := do(t, "POST", base+wire.PathOrders, o, &got); s != http.StatusCreated {
		t.Fatalf("insert: %d, want 201", s)
	}
	if got.RequestID != "r1" || got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		t.Fatalf("inserted record %+v", got)
	}
	got = wire.OrderRecord{}
	if s := do(t, "GET", base+wire.PathOrders+"/r1", nil, &got); s != http.StatusOK {
		t.Fatalf("get: %d", s)
	}
	if got.Customer != "c1" || got.AmountCents != 500 || got.GatewayID != "ch_00000001" ||
		got.State != wire.StateCharged || got.Dyno != "dyno-1" || got.Reference != "ref-1" {
		t.Fatalf("read back %+v", got)
	}
	if s := do(t, "GET", base+wire.PathOrders+"/nope", nil, nil); s != http.StatusNotFound {
		t.Fatalf("unknown id: %d, want 404", s)
	}
	// A second insert with the same id is refused with the first record.
	var existing wire.OrderRecord
	o2 := o
	o2.Customer = "someone-else"
	if s := do(t, "POST", base+wire.PathOrders, o2, &existing); s != http.StatusConflict {
		t.Fatalf("duplicate insert: %d, want 409", s)
	}
	if existing.Customer != "c1" {
		t.Fatalf("409 body %+v, want the first record", existing)
	}
}

func TestClaimTwiceConflictsWithFirstRecord(t *testing.T) {
	base := start(t)
	first := wire.OrderRecord{RequestID: "r1", Customer: "c1", AmountCents: 100, Dyno: "dyno-1"}
	var got wire.OrderRecord
	if s := do(t, "POST", base+wire.PathClaim, first, &got); s != http.StatusCreated {
		t.Fatalf("first claim: %d, want 201", s)
	}
	if got.State != wire.StateClaimed {
		t.Fatalf("claimed record state %q", got.State)
	}
	second := wire.OrderRecord{RequestID: "r1", Customer: "c1", AmountCents: 100, Dyno: "dyno-2"}
	var conflict wire.OrderRecord
	if s := do(t, "POST", base+wire.PathClaim, second, &conflict); s != http.StatusConflict {
		t.Fatalf("second claim: %d, want 409", s)
	}
	if conflict.Dyno != "dyno-1" || conflict.State != wire.StateClaimed {
		t.Fatalf("409 body %+v, want the first claim (dyno-1)", conflict)
	}
	// The request id header is enough when the body has none.
	req, _ := http.NewRequest("POST", base+wire.PathClaim, strings.NewReader(`{"customer":"c2"}`))
	req.Header.Set(wire.HeaderRequestID, "r2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("claim by header: %s", resp.Status)
	}
	if s := do(t, "GET", base+wire.PathOrders+"/r2", nil, nil); s != http.StatusOK {
		t.Fatalf("claim by header not stored: %d", s)
	}
}

func TestPatch(t *testing.T) {
	base := start(t)
	do(t, "POST", base+wire.PathClaim, wire.OrderRecord{RequestID: "r1", Customer: "c1", AmountCents: 100}, nil)
	var got wire.OrderRecord
	s := do(t, "PATCH", base+wire.PathOrders+"/r1", wire.OrderUpdate{GatewayID: "ch_00000007", State: wire.StateCharged}, &got)
	if s != http.StatusOK || got.GatewayID != "ch_00000007" || got.State != wire.StateCharged || got.Customer != "c1" {
		t.Fatalf("patch: %d %+v", s, got)
	}
	got = wire.OrderRecord{}
	do(t, "GET", base+wire.PathOrders+"/r1", nil, &got)
	if got.GatewayID != "ch_00000007" || got.State != wire.StateCharged {
		t.Fatalf("patch not stored: %+v", got)
	}
	if !got.UpdatedAt.After(got.CreatedAt) {
		t.Fatalf("updated_at %v not after created_at %v", got.UpdatedAt, got.CreatedAt)
	}
	if s := do(t, "PATCH", base+wire.PathOrders+"/nope", wire.OrderUpdate{State: wire.StateCharged}, nil); s != http.StatusNotFound {
		t.Fatalf("patch unknown: %d, want 404", s)
	}
	if s := do(t, "PATCH", base+wire.PathOrders+"/r1", wire.OrderUpdate{State: "bogus"}, nil); s != http.StatusBadRequest {
		t.Fatalf("patch bogus state: %d, want 400", s)
	}
}

func TestReconcilableListsOnlyGatewayDownOrders(t *testing.T) {
	base := start(t)
	down := wire.GatewayDownPrefix + "0123456789abcdef0123456789abcdef"
	t0 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, o := range []wire.OrderRecord{
		{RequestID: "charged", GatewayID: "ch_00000001", State: wire.StateCharged, CreatedAt: t0},
		{RequestID: "down-late", GatewayID: down, State: wire.StateDeferred, CreatedAt: t0.Add(2 * time.Second)},
		{RequestID: "failed", State: wire.StateFailed, CreatedAt: t0},
		{RequestID: "claimed", State: wire.StateClaimed, CreatedAt: t0},
		{RequestID: "down-early", GatewayID: down, State: wire.StateDeferred, CreatedAt: t0.Add(time.Second)},
		{RequestID: "lookalike", GatewayID: "x-" + down, State: wire.StateCharged, CreatedAt: t0},
	} {
		if s := do(t, "POST", base+wire.PathOrders, o, nil); s != http.StatusCreated {
			t.Fatalf("insert %s: %d", o.RequestID, s)
		}
	}
	var got []wire.OrderRecord
	if s := do(t, "GET", base+wire.PathOrders+"?reconcilable=1", nil, &got); s != http.StatusOK {
		t.Fatalf("list: %d", s)
	}
	var ids []string
	for _, o := range got {
		ids = append(ids, o.RequestID)
	}
	if strings.Join(ids, ",") != "down-early,down-late" {
		t.Fatalf("reconcilable = %v, want [down-early down-late] (oldest first)", ids)
	}
	if !got[0].CreatedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("created_at not kept: %v", got[0].CreatedAt)
	}

	// Once patched to a real charge, an order is no longer reconcilable.
	do(t, "PATCH", base+wire.PathOrders+"/down-early", wire.OrderUpdate{GatewayID: "ch_00000002", State: wire.StateCharged}, nil)
	got = nil
	do(t, "GET", base+wire.PathOrders+"?reconcilable=1", nil, &got)
	if len(got) != 1 || got[0].RequestID != "down-late" {
		t.Fatalf("after patch: %+v, want only down-late", got)
	}

	all, err := service.Fetch[wire.OrderRecord](context.Background(), http.DefaultClient, base+wire.PathExport)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 || all[0].RequestID != "charged" {
		t.Fatalf("export: %d records, first %+v; want 6 in insertion order", len(all), all)
	}
}

func TestBadInput(t *testing.T) {
	base := start(t)
	for _, c := range []struct {
		name, body string
	}{
		{"malformed", `{"request_id":`},
		{"no request id", `{"customer":"c1"}`},
		{"unknown state", `{"request_id":"r1","state":"bogus"}`},
	} {
		resp, err := http.Post(base+wire.PathOrders, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s, want 400", c.name, resp.Status)
		}
	}
}

func TestStateInferredFromGatewayID(t *testing.T) {
	base := start(t)
	var got wire.OrderRecord
	do(t, "POST", base+wire.PathOrders, wire.OrderRecord{RequestID: "r1", GatewayID: wire.GatewayDownPrefix + "00"}, &got)
	if got.State != wire.StateDeferred {
		t.Fatalf("gateway-down order state %q, want deferred", got.State)
	}
	do(t, "POST", base+wire.PathOrders, wire.OrderRecord{RequestID: "r2", GatewayID: "ch_00000001"}, &got)
	if got.State != wire.StateCharged {
		t.Fatalf("charged order state %q, want charged", got.State)
	}
}

func TestFlagsAndValidate(t *testing.T) {
	c := db.DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	fs := pflag.NewFlagSet("db", pflag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"--store=o.sqlite"}); err != nil {
		t.Fatal(err)
	}
	if c.Store != "o.sqlite" {
		t.Fatalf("--store not applied: %+v", c)
	}
	if err := (db.Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "--store") {
		t.Fatalf("Validate of empty config = %v, want --store named", err)
	}
}
