package wire

import "time"

// The order store's replication paths.
const (
	PathChanges     = "/admin/changes"     // db GET ?after=SEQ&until=UNIXNANO&limit=N: the change feed ([]Change, oldest first)
	PathReplication = "/admin/replication" // db GET: ReplicationStatus
	PathPromote     = "/admin/promote"     // db POST: stop following, take writes
	PathFollow      = "/admin/follow"      // db POST FollowRequest: follow another store
	PathResync      = "/admin/resync"      // db POST ResyncRequest: replace every order with another store's
	PathFreeze      = "/admin/freeze"      // db POST: refuse writes until promoted or following
	PathRestore     = "/admin/restore"     // db POST NDJSON orders: load a backup into an empty store
)

// Replication roles.
const (
	RolePrimary = "primary" // takes writes
	RoleReplica = "replica" // follows a primary, refuses writes
)

// Change is one entry of an order store's change feed: the order as it
// is after the write numbered Seq.
type Change struct {
	Seq   int64       `json:"seq"`
	Order OrderRecord `json:"order"`
}

// FollowRequest is the body of POST /admin/follow.
type FollowRequest struct {
	Primary string `json:"primary"`
	// After is the primary's sequence number to follow from: 0 is its
	// first change; a store the primary was just re-synced from follows
	// from the primary's Seq then, having every change before it.
	After int64 `json:"after,omitempty"`
}

// ResyncRequest is the body of POST /admin/resync.
type ResyncRequest struct {
	From string `json:"from"`
}

// ReplicationStatus is what an order store reports at PathReplication.
type ReplicationStatus struct {
	Role      string `json:"role"`
	Frozen    bool   `json:"frozen"`              // refuses writes (POST /admin/freeze) until promoted or following
	Following string `json:"following,omitempty"` // the primary's base URL
	// AppliedSeq is the primary's sequence number of the last change
	// applied here; AppliedThrough is that change's commit time there.
	AppliedSeq     int64     `json:"applied_seq"`
	AppliedThrough time.Time `json:"applied_through,omitzero"`
	// CurrentThrough: every change the primary committed before it is
	// applied here. Lag is now (or the promotion) minus it.
	CurrentThrough time.Time `json:"current_through,omitzero"`
	Lag            Duration  `json:"lag"`
	LastContact    time.Time `json:"last_contact,omitzero"`
	LastError      string    `json:"last_error,omitempty"`
	PromotedAt     time.Time `json:"promoted_at,omitzero"`
	Orders         int       `json:"orders"`
	// Seq numbers the store's own last write (its change feed's end).
	Seq int64 `json:"seq"`
	// Restored counts the orders read from the backup at start.
	Restored     int       `json:"restored"`
	RestoreError string    `json:"restore_error,omitempty"`
	ResyncedAt   time.Time `json:"resynced_at,omitzero"`
}
