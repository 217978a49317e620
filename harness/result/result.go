// Package result holds the result types of a finished run, sweep or
// bench step: what DESIGN.md's JSON result promises, key for key. The
// renderers (reports) import this package only; the checker
// (harness/check) fills it from a run's evidence.
package result

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// Result is a finished run: what DESIGN.md's JSON result promises, key for
// key, plus the evidence behind each anomaly. It is what reports render.
type Result struct {
	Scenario       string        `json:"scenario"`
	Runtime        string        `json:"runtime"`
	Seed           int64         `json:"seed"`
	Speed          float64       `json:"speed"`
	ModelDurationS float64       `json:"model_duration_s"`
	Harness        HarnessHealth `json:"harness"`
	Orders         OrderCounts   `json:"orders"`
	SuccessRate    float64       `json:"success_rate"`
	Failovers      int           `json:"failovers"`
	FailoverRate   float64       `json:"failover_rate"`
	Charges        int           `json:"charges"`
	DoubleCharges  int           `json:"double_charges"`
	PhantomCharges int           `json:"phantom_charges"`
	LostOrders     int           `json:"lost_orders"`
	Unreconciled   int           `json:"unreconciled"`
	ExposureCents  int64         `json:"exposure_cents"`
	WrongMatches   int           `json:"wrong_matches"`
	RTOS           *float64      `json:"rto_s"`
	RPOOrders      int           `json:"rpo_orders"`
	RPOCents       int64         `json:"rpo_cents"`
	// With a standby region (absent without one): the span of model time
	// the orders lost by the failover cover; charges with no order in the
	// final store; orders the old region took after the standby's
	// promotion.
	RPOS             *float64 `json:"rpo_s,omitempty"`
	OrphanCharges    *int     `json:"orphan_charges,omitempty"`
	SplitBrainOrders *int     `json:"split_brain_orders,omitempty"`
	// FaultErrors counts the faults that did not apply or lift as
	// written (a drain the disruption budget refused); each one's error
	// is in its Outage.
	FaultErrors  int         `json:"fault_errors"`
	LatencyMS    Percentiles `json:"latency_ms"`
	QueueMS      QueueTimes  `json:"queue_ms"`
	Expectations []Verdict   `json:"expectations"`
	Verdict      string      `json:"verdict"`
	// Regions and Drill: a system with a standby region, and its drill.
	Regions *Regions `json:"regions,omitempty"`
	Drill   *Drill   `json:"drill,omitempty"`

	// Beyond the contract: what a person needs to explain the figures.
	Outages   []Outage  `json:"outages"`
	Replays   Progress  `json:"replays"`
	Reconcile Progress  `json:"reconcile"`
	Anomalies []Anomaly `json:"anomalies"`
	OutDir    string    `json:"out_dir,omitempty"`
}

// HarnessHealth says whether the harness kept up with the model. When it
// did not, the figures are not to be trusted.
type HarnessHealth struct {
	Saturated    bool    `json:"saturated"`
	AchievedRate float64 `json:"achieved_rate"` // orders per model second
	AskedRate    float64 `json:"asked_rate"`
	TimerLagMS   float64 `json:"timer_lag_ms"` // worst fault timer lateness, model ms
	// QueueDistortion is the share of the mean queue time the machine
	// added: the dynos' real work running past the compressed service
	// times (see the notes when it saturates).
	QueueDistortion float64  `json:"queue_distortion"`
	Settled         bool     `json:"settled"` // replays and reconciliation finished
	WallS           float64  `json:"wall_s"`
	Notes           []string `json:"notes"`
	// Aborted says a stop condition (the scenario's abort_if) ended the
	// load early; AbortReason says which, with its value and when.
	Aborted     bool   `json:"aborted"`
	AbortReason string `json:"abort_reason,omitempty"`
	// SpeedAuto is what speed: auto chose and why; absent when the
	// scenario gave its speed.
	SpeedAuto *SpeedChoice `json:"speed_auto,omitempty"`
	// ProxiedLinks are the links that passed through toxiproxy (a fault
	// names them, or --proxy-all); the others were wired directly.
	ProxiedLinks []string `json:"proxied_links"`
}

// OrderCounts is what the client was told, order by order.
type OrderCounts struct {
	Sent      int `json:"sent"`
	Succeeded int `json:"succeeded"` // 2xx
	Rejected  int `json:"rejected"`  // 4xx: card failed
	Errored   int `json:"errored"`   // 5xx or no answer
}

// Percentiles of client latency in model milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// QueueTimes is the time orders waited in a dyno's backlog, model ms.
type QueueTimes struct {
	Mean float64 `json:"mean"`
	// MeanCI95 is the half-width of the mean's 95% confidence interval,
	// by batch means: how far chance alone (the run's arrivals and
	// service times, not the machine) may put Mean from the long-run
	// mean a queueing formula gives. Longer runs narrow it.
	MeanCI95 float64 `json:"mean_ci95"`
	P99      float64 `json:"p99"`
}

// Verdict is one expectation and what the run gave.
type Verdict struct {
	Expr  string   `json:"expr"`
	Value *float64 `json:"value"`
	OK    bool     `json:"ok"`
	// Window is, for a windowed expectation, the stretch of the run it
	// was judged over; Note says why a value is missing.
	Window *Span  `json:"window,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Outage is one fault window and the recovery measured after it.
type Outage struct {
	Fault     int      `json:"fault"`
	Name      string   `json:"name"`
	Link      string   `json:"link"`
	Toxic     string   `json:"toxic"`
	StartS    float64  `json:"start_s"`
	EndS      float64  `json:"end_s"`
	RTOS      *float64 `json:"rto_s"` // null: production never recovered
	Recovered bool     `json:"recovered"`
	Error     string   `json:"error,omitempty"`
}

// Progress is how far the replayer or reconciler got by the end.
type Progress struct {
	Done    int `json:"done"`
	Pending int `json:"pending"`
}

// Anomaly kinds.
const (
	KindDoubleCharge  = "double_charge"
	KindPhantomCharge = "phantom_charge"
	KindLostOrder     = "lost_order"
	KindUnreconciled  = "unreconciled"
	KindWrongMatch    = "wrong_match"
	KindOrphanCharge  = "orphan_charge" // a charge with no order in the final store
	KindSplitBrain    = "split_brain"   // an order the old region took after the standby's promotion
)

// Regions is what became of a system with a standby region.
type Regions struct {
	Active      string `json:"active"` // the region orders went to at the end
	StandbyMode string `json:"standby_mode"`
	// SwitchedAtS is when the gslb first switched to the standby, model
	// seconds from the load's start; null: it never did.
	SwitchedAtS *float64 `json:"switched_at_s"`
	// PromotedAtS is when the standby's db was promoted; null: never.
	PromotedAtS *float64 `json:"promoted_at_s"`
	// LagAtPromotionS is how far the standby's db was behind the primary
	// when it was promoted (model s): what replication alone would lose.
	LagAtPromotionS *float64 `json:"lag_at_promotion_s"`
	// StartupWallS is the real start-up of provisioning the standby, as
	// the runtime measured it in wall seconds (on Kubernetes: a warm
	// standby's dyno Deployments scaled up from 0, or a cold one's
	// objects created, until every pod was Ready); null: not
	// provisioned. The drill's provision step takes the larger of it
	// (in model time) and the scenario's provision time.
	StartupWallS *float64 `json:"startup_wall_s"`
	// StandbyMonthlyCostCents is what the standby costs a month (730 h)
	// in its mode, at the scenario's hourly prices.
	StandbyMonthlyCostCents int64 `json:"standby_monthly_cost_cents"`
}

// Drill is a drill's timeline and how it did against its objectives.
type Drill struct {
	Steps         []DrillStep  `json:"steps"`
	Events        []DrillEvent `json:"events"`
	RTOBreakdownS RTOBreakdown `json:"rto_breakdown_s"`
	Objectives    Objectives   `json:"objectives"`
	ObjectivesMet bool         `json:"objectives_met"`
}

// DrillStep is one runbook step as it ran, model seconds from the load's
// start; null times: it never started (or never ended).
type DrillStep struct {
	Name     string   `json:"name"`
	Do       string   `json:"do"`
	StartedS *float64 `json:"started_s"`
	EndedS   *float64 `json:"ended_s"`
	WaitedOn string   `json:"waited_on"` // "at 5m0s", "after page", "when gslb-unhealthy"
	Outcome  string   `json:"outcome"`   // what it did, or why it could not
	OK       bool     `json:"ok"`        // it did its job
}

// DrillEvent is one thing the system did during a drill.
type DrillEvent struct {
	AtS  float64 `json:"at_s"`
	What string  `json:"what"`
}

// RTOBreakdown splits the RTO (model s) into where it went: detection
// (the outage's start to the detect step's end), each step's own time,
// and the DNS drain (the reroute's end to recovery). Null: no such step.
type RTOBreakdown struct {
	Detect    *float64 `json:"detect"`
	Provision *float64 `json:"provision"`
	Promote   *float64 `json:"promote"`
	Reroute   *float64 `json:"reroute"`
	DNSDrain  *float64 `json:"dns_drain"`
}

// Objectives are the drill's targets, model seconds; null: none set.
type Objectives struct {
	RTOS *float64 `json:"rto_s"`
	RPOS *float64 `json:"rpo_s"`
}

// Anomaly is one order that went wrong, with the evidence.
type Anomaly struct {
	Kind        string        `json:"kind"`
	RequestID   string        `json:"request_id"`
	Reference   string        `json:"reference"`
	Customer    string        `json:"customer"`
	AmountCents int64         `json:"amount_cents"`
	ClientTold  string        `json:"client_told"`
	Charges     []ChargeBrief `json:"charges,omitempty"`
	Detail      string        `json:"detail"`
}

// ChargeBrief is a ledger entry as evidence.
type ChargeBrief struct {
	ID        string  `json:"id"`
	Reference string  `json:"reference"`
	AtS       float64 `json:"at_s"` // model seconds from the load's start
}

// Span is the stretch of a run a windowed expectation was judged over, in
// model seconds from the load's start, and how many orders were sent
// within it.
type Span struct {
	FromS  float64 `json:"from_s"`
	ToS    float64 `json:"to_s"`
	Orders int     `json:"orders"`
}

// Lookup returns the number at a result key as written in the JSON result,
// dotted for nested keys ("latency_ms.p99", "orders.sent"); booleans read as
// 0 or 1. present is false for a null (rto_s with no outage) or an unknown
// key.
func (r *Result) Lookup(key string) (value float64, present bool) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, false
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, false
	}
	var cur any = m
	for _, part := range strings.Split(key, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return 0, false
		}
		if cur, ok = obj[part]; !ok {
			return 0, false
		}
	}
	switch v := cur.(type) {
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// RuntimeModel is the model runtime's name (Result.Runtime): its results
// leave the figures of ModelOmits null.
const RuntimeModel = "model"

// ModelOmits are the result keys the model runtime does not compute, the
// money figures that live in the stores it does not keep: its JSON result
// has them null (so an expectation on one has no value), and the reports
// say "not computed".
var ModelOmits = []string{
	"charges", "double_charges", "phantom_charges", "lost_orders", "unreconciled", "exposure_cents",
	"wrong_matches", "rpo_orders", "rpo_cents", "reconcile",
}

// MarshalJSON writes the result key for key in the order of its fields,
// with the keys a model runtime's result does not compute as null.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	b, err := json.Marshal(plain(r))
	if err != nil || r.Runtime != RuntimeModel {
		return b, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for first := true; dec.More(); first = false {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if !first {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		if slices.Contains(ModelOmits, key) {
			v = json.RawMessage("null")
		}
		out.Write(v)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// Computed says whether the result has a figure for key: false for the
// keys of ModelOmits in a model runtime's result.
func (r *Result) Computed(key string) bool {
	return r.Runtime != RuntimeModel || !slices.Contains(ModelOmits, strings.SplitN(key, ".", 2)[0])
}
