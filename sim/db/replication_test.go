package db_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"paydrill/sim/db"
	"paydrill/sim/service"
	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

// startWith starts a store configured by change.
func startWith(t *testing.T, change func(*db.Config)) (*db.DB, string) {
	t.Helper()
	c := db.DefaultConfig()
	c.Store = filepath.Join(t.TempDir(), "orders.sqlite")
	c.PollInterval = wire.Duration(10 * time.Millisecond)
	change(&c)
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
	return d, srv.URL()
}

func insert(t *testing.T, base, id string) int {
	t.Helper()
	return do(t, "POST", base+wire.PathOrders, wire.OrderRecord{RequestID: id, Reference: "ref-" + id, Customer: "c",
		AmountCents: 100, CardToken: "tok", GatewayID: "ch_" + id}, nil)
}

func has(t *testing.T, base, id string) bool {
	t.Helper()
	return do(t, "GET", base+wire.PathOrders+"/"+id, nil, nil) == http.StatusOK
}

func status(t *testing.T, base string) wire.ReplicationStatus {
	t.Helper()
	var s wire.ReplicationStatus
	if code := do(t, "GET", base+wire.PathReplication, nil, &s); code != http.StatusOK {
		t.Fatalf("GET %s: %d", wire.PathReplication, code)
	}
	return s
}

func TestAReplicaAppliesThePrimarysWritesAfterTheLag(t *testing.T) {
	_, primary := startWith(t, func(*db.Config) {})
	const lag = time.Second
	_, replica := startWith(t, func(c *db.Config) { c.Follow, c.ReplicationLag = primary, wire.Duration(lag) })

	if code := insert(t, primary, "r1"); code != http.StatusCreated {
		t.Fatalf("insert on the primary: %d", code)
	}
	committed := time.Now()
	present := has(t, replica, "r1")
	if present && time.Since(committed) < lag {
		t.Fatal("the replica holds the order before the lag has passed")
	}
	simtest.Eventually(t, 10*time.Second, "the order on the replica", func() bool { return has(t, replica, "r1") })
	if waited := time.Since(committed); waited < lag {
		t.Fatalf("applied %s after the commit, before the %s lag", waited, lag)
	}
	// An update travels the same way.
	if code := do(t, "PATCH", primary+wire.PathOrders+"/r1", wire.OrderUpdate{State: wire.StateFailed}, nil); code != http.StatusOK {
		t.Fatalf("patch: %d", code)
	}
	simtest.Eventually(t, 10*time.Second, "the update on the replica", func() bool {
		var o wire.OrderRecord
		do(t, "GET", replica+wire.PathOrders+"/r1", nil, &o)
		return o.State == wire.StateFailed
	})
	s := status(t, replica)
	if s.Role != wire.RoleReplica || s.Following != primary || s.AppliedSeq != 2 || s.Orders != 1 || s.LastError != "" {
		t.Fatalf("replica status %+v, want a replica of %s at seq 2 with one order", s, primary)
	}
}

func TestAReplicaRefusesWritesUntilPromoted(t *testing.T) {
	_, primary := startWith(t, func(*db.Config) {})
	_, replica := startWith(t, func(c *db.Config) { c.Follow = primary })
	if code := insert(t, replica, "w1"); code != http.StatusServiceUnavailable {
		t.Fatalf("write to a replica: %d, want 503", code)
	}
	if code := do(t, "POST", replica+wire.PathPromote, nil, nil); code != http.StatusOK {
		t.Fatalf("promote: %d", code)
	}
	if code := insert(t, replica, "w1"); code != http.StatusCreated {
		t.Fatalf("write after promotion: %d, want 201", code)
	}
	if s := status(t, replica); s.Role != wire.RolePrimary || s.PromotedAt.IsZero() || s.Following != "" {
		t.Fatalf("status after promotion %+v", s)
	}
}

// What the primary committed and had not shipped when the replica was
// promoted is lost: the RPO a drill measures.
func TestPromotionLosesWhatThePrimaryHadNotShipped(t *testing.T) {
	_, primary := startWith(t, func(*db.Config) {})
	_, replica := startWith(t, func(c *db.Config) { c.Follow, c.ReplicationLag = primary, wire.Duration(time.Hour) })
	for i := range 3 {
		insert(t, primary, fmt.Sprintf("x%d", i))
	}
	simtest.Eventually(t, 10*time.Second, "the replica asking", func() bool { return !status(t, replica).LastContact.IsZero() })
	var s wire.ReplicationStatus
	do(t, "POST", replica+wire.PathPromote, nil, &s)
	if s.Orders != 0 || s.Lag.D() < 59*time.Minute || s.PromotedAt.IsZero() {
		t.Fatalf("promoted: %+v, want no orders and about an hour behind", s)
	}
	insert(t, primary, "late")
	time.Sleep(50 * time.Millisecond) // five poll intervals: a replica still following would ask again
	if s := status(t, replica); s.Orders != 0 || s.AppliedSeq != 0 {
		t.Fatalf("after promotion the old primary's writes still arrive: %+v", s)
	}
}

// A cut replication link stops the changes, and the lag grows.
func TestAnUnreachablePrimaryMakesTheLagGrow(t *testing.T) {
	_, replica := startWith(t, func(c *db.Config) { c.Follow = simtest.ClosedURL(t) })
	simtest.Eventually(t, 5*time.Second, "the fetch error", func() bool { return status(t, replica).LastError != "" })
	if s := status(t, replica); s.AppliedSeq != 0 || s.Orders != 0 {
		t.Fatalf("replica of a dead primary: %+v", s)
	}
}

func TestResyncReplacesEveryOrder(t *testing.T) {
	_, oldPrimary := startWith(t, func(*db.Config) {})
	_, standby := startWith(t, func(*db.Config) {})
	insert(t, oldPrimary, "only-old")
	insert(t, oldPrimary, "both")
	insert(t, standby, "both")
	insert(t, standby, "only-new")
	// The standby is frozen first, as a failback does: it refuses writes.
	if code := do(t, "POST", standby+wire.PathFreeze, nil, nil); code != http.StatusOK {
		t.Fatalf("freeze: %d", code)
	}
	if code := insert(t, standby, "too-late"); code != http.StatusServiceUnavailable {
		t.Fatalf("a write to a frozen store: %d, want 503", code)
	}
	var s wire.ReplicationStatus
	if code := do(t, "POST", oldPrimary+wire.PathResync, wire.ResyncRequest{From: standby}, &s); code != http.StatusOK {
		t.Fatalf("resync: %d", code)
	}
	if s.Orders != 2 || s.ResyncedAt.IsZero() || has(t, oldPrimary, "only-old") || !has(t, oldPrimary, "only-new") {
		t.Fatalf("after resync: %+v, want exactly the standby's two orders", s)
	}
	// Then the standby can follow the primary again from its first change.
	if code := do(t, "POST", standby+wire.PathFollow, wire.FollowRequest{Primary: oldPrimary}, nil); code != http.StatusOK {
		t.Fatalf("follow: %d", code)
	}
	insert(t, oldPrimary, "after")
	simtest.Eventually(t, 10*time.Second, "the standby following again", func() bool { return has(t, standby, "after") })
}

func TestRestoreLoadsTheLastBackup(t *testing.T) {
	_, primary := startWith(t, func(*db.Config) {})
	insert(t, primary, "b1")
	insert(t, primary, "b2")
	resp, err := http.Get(primary + wire.PathExport)
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.ndjson")
	f, _ := os.Create(backup)
	if _, err := f.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	f.Close()

	_, restored := startWith(t, func(c *db.Config) { c.Restore = backup })
	if s := status(t, restored); s.Restored != 2 || s.Orders != 2 || !has(t, restored, "b2") {
		t.Fatalf("restored store %+v, want the backup's two orders", s)
	}
	_, empty := startWith(t, func(c *db.Config) { c.Restore = filepath.Join(t.TempDir(), "none.ndjson") })
	if s := status(t, empty); s.Orders != 0 || s.RestoreError == "" {
		t.Fatalf("store restored from no backup: %+v, want empty and saying so", s)
	}
}
