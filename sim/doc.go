// Package sim is the simulated payment system paydrill breaks and measures.
// Each sub-package is one component, an http.Handler that knows nothing of
// scenarios, the harness or model time: it sees wall-clock durations and
// base URLs only. Wire types live in sim/wire; sim/service starts a handler
// on a TCP address; sim/roles says what every component offers, and cli
// lists the roles `paydrill serve ROLE` runs.
//
// Every component package has the same shape:
//
//	type Config struct { ... }           // json tags; durations are wire.Duration
//	func DefaultConfig() Config           // a small healthy system
//	func (c *Config) Flags(*pflag.FlagSet) // one flag per setting, with help
//	func (c Config) Validate() error      // names the setting: "workers: must be at least 1"
//	func (c *Config) Build() (http.Handler, error) // = New(*c)
//	func New(c Config) (*T, error)        // *T is an http.Handler and an io.Closer
//
// # HTTP contracts
//
// All bodies are JSON; exports are NDJSON at GET /admin/export. Every
// component answers GET /healthz with 200.
//
// edge: any request → production (Config.Production + same path), after
// assigning X-Request-Id when absent. No answer within failover_timeout, a
// 5xx, or a connection error → the identical request (method, path, headers,
// body, id) to Config.Capture, whose answer is returned. X-Paydrill-Answered-By
// on every answer. PUT /admin/production {"production": URL} switches target.
// Export: wire.EdgeRecord.
//
// router: any request → one dyno chosen by strategy (random, round-robin,
// least-conn, p2c; seeded). No dyno answer within timeout → 503 "router
// timeout"; unreachable dyno → 503. PUT /admin/dynos ["http://...", ...]
// replaces the pool. GET /readyz 200 when the pool is not empty.
//
// dyno: POST /orders. At most workers orders run at once; up to backlog more
// wait (FIFO); past that, 503 "backlog full" at once. Per order: the time
// waited in the backlog is recorded; dedupe (off | check | claim) by
// X-Request-Id against the db; charge the gateway (Idempotency-Key = request
// id) with gateway_timeout; on timeout or transport error or 5xx, an order
// with amount_cents < risk_limit_cents is accepted with gateway id
// "gateway-down-" + 32 hex and state deferred, otherwise 402 "card failed"
// (saved as state failed); save to the db. The worker stays busy until its
// start + sampled service time + the time spent waiting for the gateway
// (less the overhead the gateway reports), so the modelled service time is
// exact whatever the other overheads, unless the work itself takes longer.
// Each worker keeps a model clock: an order that waited starts when the
// previous order's busy time ended, not when the machine got round to it,
// so timer lateness never adds to queue times. 201 with
// wire.OrderAnswer for a new order; 200 (same body) when the request id was
// already held (a duplicate). Orders are processed to the end even when the
// caller has gone. GET /readyz 503 while the backlog is full. Export:
// wire.DynoRecord (refused orders too, outcome "refused").
//
// gateway: POST /charges wire.ChargeRequest (+ Idempotency-Key) → sleeps a
// sampled latency, then records the charge (even if the caller has gone) →
// 201 wire.Charge; with idempotency on, a key seen before → 200 with the
// first charge and no new one. Both carry X-Paydrill-Overhead: the
// nanoseconds spent beyond the sampled latency (store, timer lateness). GET /charges/search?customer=&amount_cents=
// &since=&until= (RFC 3339 nano) or ?reference= → [wire.Charge] oldest
// first. Export: wire.Charge. The ledger is the ground truth for money.
//
// db: POST /orders wire.OrderRecord → 201, or 409 with the existing record;
// POST /orders/claim (same, state claimed); GET /orders/{request_id} → 200 |
// 404; PATCH /orders/{request_id} wire.OrderUpdate → 200 record | 404;
// GET /orders?reconcilable=1 → [wire.OrderRecord] whose gateway id starts
// with "gateway-down-". Request id unique. Export: wire.OrderRecord.
//
// capture: POST /orders → risk assertion (amount_cents < risk_limit_cents,
// else 402 "card failed", not stored); the raw request stored and synced to
// disk before answering 201 wire.OrderAnswer, exactly production's shape
// (with ack early, the known-bad variant: answered at once, stored within
// flush or on a graceful close, lost if capture dies first). The same
// request id twice is stored once. Export: wire.CapturedRequest (what the
// store holds).
//
// replayer: POST /replay starts a pass (202); mode auto also starts one every
// interval while capture holds orders not yet replayed and production's
// /readyz answers 200. A pass reads capture's export and re-sends every
// captured request not yet replayed with a final outcome (charged, duplicate,
// rejected; error is retried next pass) to production with its original
// X-Request-Id and X-Paydrill-Replay: 1, at most rate per second. GET
// /admin/status → wire.WorkerStatus. Export: wire.ReplayRecord.
//
// reconciler: every interval (and on POST /reconcile, which answers after the
// pass), for each db order from GET /orders?reconcilable=1: match similar
// (same customer and amount, created within ±window of the order) or
// reference (the order's reference); the first match, oldest first, is
// adopted (PATCH gateway_id, state charged), else the order is charged
// (Idempotency-Key = request id) and patched. GET /admin/status →
// wire.WorkerStatus. Export: wire.ReconcileRecord.
package sim
