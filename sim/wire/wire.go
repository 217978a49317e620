// Package wire holds the types and HTTP conventions every component of the
// simulated payment system shares: the order a customer sends, the answer
// production and capture both give, the gateway's charges, the order store's
// records, captured requests, and the records each component exports.
//
// Money is always integer cents. Times are UTC wall-clock times.
package wire

import "time"

// Headers the components read or write.
const (
	// HeaderRequestID carries the unique id the edge assigns (or the client
	// sent). Production de-duplicates by it; capture stores it; the replayer
	// re-sends it.
	HeaderRequestID = "X-Request-Id"
	// HeaderAnsweredBy is set by the edge on every answer: AnsweredByProduction,
	// AnsweredByCapture, or AnsweredByNone.
	HeaderAnsweredBy = "X-Paydrill-Answered-By"
	// HeaderReplay marks a request sent by the replayer ("1").
	HeaderReplay = "X-Paydrill-Replay"
	// HeaderIdempotencyKey is sent by dynos and the reconciler with every
	// charge; the gateway honours it only when its idempotency is on.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderDyno names the dyno that answered an order.
	HeaderDyno = "X-Paydrill-Dyno"
	// HeaderOverhead is set by the gateway on a charge's answer: the
	// nanoseconds it spent on the charge beyond its sampled latency (its
	// store, its timer's lateness). Dynos leave it out of the gateway
	// wait they hold a worker for, so it is not modelled time.
	HeaderOverhead = "X-Paydrill-Overhead"
	// HeaderLatency is set by the gateway on a charge's answer: the
	// nanoseconds of latency it sampled for the charge, the modelled part
	// of the wait. A dyno whose gateway link adds no modelled time holds
	// its worker for exactly this, so the real round trip is the
	// machine's, never the model's.
	HeaderLatency = "X-Paydrill-Latency"
)

// Which path answered a request at the edge.
const (
	AnsweredByProduction = "production"
	AnsweredByCapture    = "capture"
	AnsweredByNone       = "none"
)

// HTTP paths. Every stateful component serves PathExport.
const (
	PathOrders    = "/orders"  // POST: edge, router, dyno, capture
	PathHealthz   = "/healthz" // GET: liveness
	PathReadyz    = "/readyz"  // GET: readiness
	PathExport    = "/admin/export"
	PathCharges   = "/charges"          // gateway POST: charge
	PathSearch    = "/charges/search"   // gateway GET: ?customer=&amount_cents=&since=&until= or ?reference=
	PathClaim     = "/orders/claim"     // db POST: insert a claimed order, 409 if the id exists
	PathReplay    = "/replay"           // replayer POST: run a replay pass now
	PathReconcile = "/reconcile"        // reconciler POST: run a pass now
	PathDynos     = "/admin/dynos"      // router PUT: replace the dyno set ([]string of base URLs)
	PathTargets   = "/admin/production" // edge PUT: replace the production target (TargetUpdate)
	PathStatus    = "/admin/status"     // replayer, reconciler GET: progress (WorkerStatus)
	// PathReconcilerDB is the reconciler's PUT: the order store to work
	// on (StoreTarget), the active region's after a failover.
	PathReconcilerDB = "/admin/db"
)

// Order is the body of POST /orders: what the customer's phone sends.
type Order struct {
	Reference   string `json:"reference"` // the merchant's order reference, unique per order
	Customer    string `json:"customer"`
	AmountCents int64  `json:"amount_cents"`
	CardToken   string `json:"card_token"`
}

// OrderAnswer is the body of a successful answer to POST /orders. Production
// and capture give byte-identical shapes: 201 for a new order, 200 when
// production recognises the request id of an order it already holds.
type OrderAnswer struct {
	RequestID   string `json:"request_id"`
	Reference   string `json:"reference"`
	AmountCents int64  `json:"amount_cents"`
	Status      string `json:"status"` // always "accepted"
}

// ErrorAnswer is the body of every non-2xx answer.
type ErrorAnswer struct {
	Error string `json:"error"`
}

// Error texts with a meaning the harness relies on.
const (
	ErrCardFailed  = "card failed"    // 402: high-risk order and the gateway did not answer
	ErrBacklogFull = "backlog full"   // 503 from a dyno
	ErrNoDyno      = "no dyno"        // 503 from the router: empty pool
	ErrTimeout     = "router timeout" // 503 from the router
	ErrInProgress  = "order in progress"
)

// GatewayDownPrefix starts the gateway id of an order accepted without a
// charge; 32 hex characters follow.
const GatewayDownPrefix = "gateway-down-"

// ChargeRequest is the body of POST /charges at the gateway. The idempotency
// key travels in HeaderIdempotencyKey.
type ChargeRequest struct {
	Customer    string `json:"customer"`
	AmountCents int64  `json:"amount_cents"`
	Reference   string `json:"reference"`
	CardToken   string `json:"card_token"`
}

// Charge is one entry of the gateway's ledger: the ground truth for money.
type Charge struct {
	ID             string    `json:"id"` // "ch_" + sequence
	Customer       string    `json:"customer"`
	AmountCents    int64     `json:"amount_cents"`
	Reference      string    `json:"reference"`
	CardToken      string    `json:"card_token"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// Order states in the production order store.
const (
	StateClaimed  = "claimed"  // id inserted before charging (dedupe: claim)
	StateCharged  = "charged"  // gateway id is a real charge
	StateDeferred = "deferred" // gateway id is gateway-down-*: accepted, not charged
	StateFailed   = "failed"   // card failed; the customer was refused
)

// OrderRecord is one order in the production order store (the db).
type OrderRecord struct {
	RequestID   string    `json:"request_id"`
	Reference   string    `json:"reference"`
	Customer    string    `json:"customer"`
	AmountCents int64     `json:"amount_cents"`
	CardToken   string    `json:"card_token"`
	GatewayID   string    `json:"gateway_id"`
	State       string    `json:"state"`
	Dyno        string    `json:"dyno"`
	Replay      bool      `json:"replay"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// OrderUpdate is the body of PATCH /orders/{request_id} at the db.
type OrderUpdate struct {
	GatewayID string `json:"gateway_id"`
	State     string `json:"state"`
}

// CapturedRequest is one raw request the capture service stored before it
// answered: enough to replay it byte for byte.
type CapturedRequest struct {
	RequestID   string              `json:"request_id"`
	Method      string              `json:"method"`
	Path        string              `json:"path"`
	Header      map[string][]string `json:"header"`
	Body        []byte              `json:"body"`
	Customer    string              `json:"customer"`
	Reference   string              `json:"reference"`
	AmountCents int64               `json:"amount_cents"`
	Status      int                 `json:"status"` // what capture answered: 201 or 402
	CapturedAt  time.Time           `json:"captured_at"`
}

// EdgeRecord is what the edge knows of one request.
type EdgeRecord struct {
	RequestID        string    `json:"request_id"`
	AnsweredBy       string    `json:"answered_by"`
	Status           int       `json:"status"`            // what the client was told
	ProductionStatus int       `json:"production_status"` // 0: no answer in time
	ProductionError  string    `json:"production_error,omitempty"`
	CaptureStatus    int       `json:"capture_status"` // 0: capture not asked or no answer
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
}

// DynoRecord is what a dyno knows of one order, refused ones included
// (outcome "refused").
type DynoRecord struct {
	RequestID string        `json:"request_id"`
	Dyno      string        `json:"dyno"`
	Arrived   time.Time     `json:"arrived"`
	Queued    time.Duration `json:"queued_ns"`  // time waiting in the backlog
	Service   time.Duration `json:"service_ns"` // sampled service time
	Gateway   time.Duration `json:"gateway_ns"` // time waiting for the gateway, its own overhead left out
	// Busy is the time the order held its worker: service + gateway, or
	// the work's real duration when that was longer. Arrived + Queued +
	// Busy is when the worker became free in the model; Finished is when
	// it did on the machine (later by the machine's lateness).
	Busy time.Duration `json:"busy_ns"`
	// Work is the real time the order's calls to the db and the gateway
	// took; past Service + Gateway it is the machine's overrun, which
	// delays the worker beyond the model.
	Work     time.Duration `json:"work_ns"`
	Finished time.Time     `json:"finished"`
	Status   int           `json:"status"`
	Outcome  string        `json:"outcome"` // charged, deferred, failed, duplicate, error
	Replay   bool          `json:"replay"`
}

// Replay outcomes.
const (
	ReplayCharged   = "charged"   // production took it as a new order (201)
	ReplayDuplicate = "duplicate" // production already held it (200)
	ReplayRejected  = "rejected"  // production refused it (4xx)
	ReplayError     = "error"     // no answer or 5xx: tried again on the next pass
)

// ReplayRecord is one attempt of the replayer.
type ReplayRecord struct {
	RequestID string    `json:"request_id"`
	Attempt   int       `json:"attempt"`
	Outcome   string    `json:"outcome"`
	Status    int       `json:"status"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
}

// Reconciler actions.
const (
	ReconcileAdopted = "adopted" // a charge found at the gateway was adopted
	ReconcileCharged = "charged" // no charge found: charged now
	ReconcileError   = "error"   // gateway or db failed: tried again next interval
)

// ReconcileRecord is one action of the reconciler on one order.
type ReconcileRecord struct {
	RequestID string    `json:"request_id"`
	Reference string    `json:"reference"`
	Action    string    `json:"action"`
	ChargeID  string    `json:"charge_id,omitempty"`
	ChargeRef string    `json:"charge_reference,omitempty"` // the adopted charge's own reference
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
}

// WorkerStatus is what the replayer and reconciler report at PathStatus.
type WorkerStatus struct {
	Pending int       `json:"pending"` // orders still to replay / reconcile
	Done    int       `json:"done"`
	Passes  int       `json:"passes"`
	Busy    bool      `json:"busy"`
	LastRun time.Time `json:"last_run"`
}

// StoreTarget is the body of PUT /admin/db at the reconciler.
type StoreTarget struct {
	URL string `json:"url"`
}

// TargetUpdate is the body of PUT /admin/production at the edge.
type TargetUpdate struct {
	Production string `json:"production"`
}
