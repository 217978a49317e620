package reconciler_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"paydrill/sim/db"
	"paydrill/sim/reconciler"
	"paydrill/sim/wire"
)

// After a failover the reconciler works on the active region's store:
// PUT /admin/db points it there, and the next pass reconciles its orders.
func TestPutDBMovesTheReconcilerToAnotherStore(t *testing.T) {
	s := startSystem(t, opts{match: reconciler.MatchReference})
	s.order("req-old", "c1", 500, "ref-old", "", time.Now())

	dc := db.DefaultConfig()
	dc.Store = filepath.Join(t.TempDir(), "standby.sqlite")
	d, err := db.New(dc)
	if err != nil {
		t.Fatal(err)
	}
	standby := serve(t, d)
	other := &system{t: t, gateway: s.gateway, db: standby, rec: s.rec, r: s.r}
	other.order("req-new", "c2", 700, "ref-new", "", time.Now())

	if code := s.do(http.MethodPut, s.rec+wire.PathReconcilerDB, nil, wire.StoreTarget{URL: "nope"}, nil); code != http.StatusBadRequest {
		t.Fatalf("PUT a bad URL: %d, want 400", code)
	}
	var got wire.StoreTarget
	if code := s.do(http.MethodPut, s.rec+wire.PathReconcilerDB, nil, wire.StoreTarget{URL: standby + "/"}, &got); code != http.StatusOK || got.URL != standby {
		t.Fatalf("PUT /admin/db: %d %+v, want 200 %s", code, got, standby)
	}
	s.reconcile()
	if o := other.get("req-new"); o.State != wire.StateCharged {
		t.Fatalf("the new store's order after a pass: %+v, want charged", o)
	}
	if o := s.get("req-old"); o.State != wire.StateDeferred {
		t.Fatalf("the old store's order: %+v, want left alone (deferred)", o)
	}
	if led := s.ledger(); len(led) != 1 || led[0].Reference != "ref-new" {
		t.Fatalf("ledger %+v, want one charge, for ref-new", led)
	}
}
