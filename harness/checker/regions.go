package checker

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/sim/wire"
)

// RegionEvidence is what a system with a standby region adds to the
// evidence: how the failover went, and the old primary's orders. Times
// are wall clock, as in Evidence.
type RegionEvidence struct {
	Mode   string `json:"mode"`   // hot, warm, cold
	Active string `json:"active"` // the region orders went to at the end
	// PromotedAt is when the standby's db was promoted (zero: never), and
	// LagAtPromotion how far behind the primary it was then (wall).
	PromotedAt     time.Time     `json:"promoted_at,omitzero"`
	LagAtPromotion time.Duration `json:"lag_at_promotion_ns"`
	// Startup is the real start-up of the standby's provisioning (wall;
	// zero: not provisioned).
	Startup time.Duration `json:"startup_ns,omitempty"`
	// MonthlyCostCents is the standby's monthly cost in its mode.
	MonthlyCostCents int64 `json:"monthly_cost_cents"`
	// Drill: the scenario has a runbook; its steps and events as they ran,
	// and its objectives (model time; 0: none).
	Drill        bool          `json:"drill"`
	Steps        []StepRecord  `json:"steps"`
	Events       []EventRecord `json:"events"`
	ObjectiveRTO time.Duration `json:"objective_rto_ns,omitempty"`
	ObjectiveRPO time.Duration `json:"objective_rpo_ns,omitempty"`

	// Read from the run's exports, not evidence.json: the old primary's
	// db as it was before a failback re-synced it (its export at the end
	// when there was none), and the gslb's events.
	OldPrimary []wire.OrderRecord `json:"-"`
	GSLB       []wire.GSLBEvent   `json:"-"`
}

// StepRecord is one drill step as it ran (zero times: it never started,
// or never ended).
type StepRecord struct {
	Name     string    `json:"name"`
	Do       string    `json:"do"`
	WaitedOn string    `json:"waited_on"`
	Started  time.Time `json:"started,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	Outcome  string    `json:"outcome"`
	OK       bool      `json:"ok"`
}

// EventRecord is one thing the system did during the run, as the harness
// saw it (provisioned, promoted, a backup taken, re-synced).
type EventRecord struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

// The drill actions whose time the RTO breakdown names.
const (
	DoDetect    = "detect"
	DoProvision = "provision"
	DoPromote   = "promote"
	DoReroute   = "reroute"
)

// checkRegions adds the figures of a system with a standby region: RPO
// measured order by order, orphan charges, split-brain orders, the
// regions' summary and the drill's timeline. lost are the orders the
// client was told succeeded and no store holds; orders and told are
// Check's, by request id.
func checkRegions(r *result.Result, ev Evidence, lost []load.Outcome, orders map[string]load.SentOrder, told map[string]load.Outcome,
	add func(kind string, o load.SentOrder, out load.Outcome, cs []wire.Charge, detail string)) {
	re := ev.Regions
	at := func(t time.Time) float64 { return t.Sub(ev.Began).Seconds() * ev.Speed }
	ptr := func(v float64) *float64 { return &v }
	promoted := !re.PromotedAt.IsZero()

	// RPO: the orders acknowledged and then lost by the failover. With a
	// promotion, every lost order acknowledged before it (the rest were
	// taken by the old region afterwards: split brain, counted below);
	// without one, those of the outages, as for any run.
	if promoted {
		r.RPOOrders, r.RPOCents = 0, 0
	}
	first, last := math.Inf(1), math.Inf(-1)
	for _, out := range lost {
		acked := ev.Began.Add(out.Sent + out.Latency)
		if promoted && acked.After(re.PromotedAt) {
			continue
		}
		if promoted {
			r.RPOOrders++
			r.RPOCents += orders[out.RequestID].AmountCents
		}
		t := at(acked)
		first, last = math.Min(first, t), math.Max(last, t)
	}
	rpo := 0.0
	if r.RPOOrders > 0 && !math.IsInf(first, 0) {
		rpo = last - first
	}
	r.RPOS = ptr(rpo)

	// Orphan charges: money taken for an order the final store does not
	// hold (nor capture, whose orders are still to be replayed).
	final := map[string]bool{}
	for _, o := range ev.DB {
		final[o.Reference] = true
	}
	for _, c := range ev.Captured {
		final[c.Reference] = true
	}
	byRef := map[string]load.SentOrder{}
	for _, o := range ev.Orders {
		byRef[o.Reference] = o
	}
	orphans := 0
	for _, c := range ev.Ledger {
		if final[c.Reference] {
			continue
		}
		orphans++
		o := byRef[c.Reference]
		if o.Reference == "" {
			o = load.SentOrder{Reference: c.Reference, Customer: c.Customer, AmountCents: c.AmountCents}
		}
		add(result.KindOrphanCharge, o, told[o.RequestID], []wire.Charge{c}, "charged, and the final store holds no order for it")
	}
	r.OrphanCharges = &orphans

	// Split brain: orders the old region accepted after the standby's
	// promotion.
	split := 0
	if promoted {
		for _, o := range re.OldPrimary {
			if !o.CreatedAt.After(re.PromotedAt) {
				continue
			}
			split++
			so, ok := orders[o.RequestID]
			if !ok {
				so = load.SentOrder{RequestID: o.RequestID, Reference: o.Reference, Customer: o.Customer, AmountCents: o.AmountCents}
			}
			add(result.KindSplitBrain, so, told[o.RequestID], nil,
				fmt.Sprintf("accepted by the old primary %.1fs after the standby was promoted", at(o.CreatedAt)-at(re.PromotedAt)))
		}
	}
	r.SplitBrainOrders = &split

	reg := &result.Regions{Active: re.Active, StandbyMode: re.Mode, StandbyMonthlyCostCents: re.MonthlyCostCents}
	var switched time.Time
	for _, e := range re.GSLB {
		if e.What == wire.GSLBSwitched && e.From != "" && switched.IsZero() && e.Region != e.From {
			switched = e.At
		}
	}
	if !switched.IsZero() {
		reg.SwitchedAtS = ptr(at(switched))
	}
	if promoted {
		reg.PromotedAtS = ptr(at(re.PromotedAt))
		reg.LagAtPromotionS = ptr(re.LagAtPromotion.Seconds() * ev.Speed)
	}
	if re.Startup > 0 {
		reg.StartupWallS = ptr(re.Startup.Seconds())
	}
	r.Regions = reg
	if re.Drill {
		r.Drill = drillResult(r, ev, at)
	}
}

// drillResult is the drill's timeline, the RTO broken down and the
// objectives judged.
func drillResult(r *result.Result, ev Evidence, at func(time.Time) float64) *result.Drill {
	re := ev.Regions
	ptr := func(v float64) *float64 { return &v }
	d := &result.Drill{Steps: []result.DrillStep{}, Events: []result.DrillEvent{}}
	for _, s := range re.Steps {
		st := result.DrillStep{Name: s.Name, Do: s.Do, WaitedOn: s.WaitedOn, Outcome: s.Outcome, OK: s.OK}
		if !s.Started.IsZero() {
			st.StartedS = ptr(at(s.Started))
		}
		if !s.Ended.IsZero() {
			st.EndedS = ptr(at(s.Ended))
		}
		d.Steps = append(d.Steps, st)
	}
	for _, e := range re.Events {
		d.Events = append(d.Events, result.DrillEvent{AtS: at(e.At), What: e.What})
	}
	for _, e := range re.GSLB {
		what := "gslb: " + e.What + " " + e.Region
		if e.From != "" {
			what = fmt.Sprintf("gslb: switched %s → %s", e.From, e.Region)
		}
		if e.Reason != "" && e.What != wire.GSLBRegionSet {
			what += " (" + e.Reason + ")"
		}
		d.Events = append(d.Events, result.DrillEvent{AtS: at(e.At), What: what})
	}
	d.Events = append(d.Events, systemEvents(ev, at)...)
	sort.SliceStable(d.Events, func(i, j int) bool { return d.Events[i].AtS < d.Events[j].AtS })

	// The RTO's breakdown, from the first outage's start.
	start := math.NaN()
	for _, o := range r.Outages {
		if strings.HasPrefix(o.Link, "region:") && (math.IsNaN(start) || o.StartS < start) {
			start = o.StartS
		}
	}
	if math.IsNaN(start) && len(r.Outages) > 0 {
		start = r.Outages[0].StartS
	}
	span := func(do string) (from, to *float64) {
		for _, s := range d.Steps {
			if s.Do == do && s.StartedS != nil && s.EndedS != nil {
				return s.StartedS, s.EndedS
			}
		}
		return nil, nil
	}
	b := &d.RTOBreakdownS
	if _, end := span(DoDetect); end != nil && !math.IsNaN(start) {
		b.Detect = ptr(math.Max(0, *end-start))
	}
	for do, into := range map[string]**float64{DoProvision: &b.Provision, DoPromote: &b.Promote, DoReroute: &b.Reroute} {
		if from, to := span(do); from != nil {
			*into = ptr(*to - *from)
		}
	}
	if _, end := span(DoReroute); end != nil && r.RTOS != nil && !math.IsNaN(start) {
		b.DNSDrain = ptr(math.Max(0, start+*r.RTOS-*end))
	}

	met := true
	if re.ObjectiveRTO > 0 {
		d.Objectives.RTOS = ptr(re.ObjectiveRTO.Seconds())
		met = met && r.RTOS != nil && *r.RTOS <= *d.Objectives.RTOS
	}
	if re.ObjectiveRPO > 0 {
		d.Objectives.RPOS = ptr(re.ObjectiveRPO.Seconds())
		met = met && r.RPOS != nil && *r.RPOS <= *d.Objectives.RPOS
	}
	d.ObjectivesMet = met
	return d
}

// systemEvents are what the orders show of the failover: the first order
// production failed after an outage began, and the first one a standby
// dyno answered.
func systemEvents(ev Evidence, at func(time.Time) float64) []result.DrillEvent {
	var out []result.DrillEvent
	var faultStart time.Duration = -1
	for _, f := range ev.Faults {
		if faultStart < 0 || f.Start < faultStart {
			faultStart = f.Start
		}
	}
	if faultStart >= 0 {
		var firstFail time.Duration = -1
		for _, o := range ev.Outcomes {
			if o.Sent >= faultStart && (o.AnsweredBy != wire.AnsweredByProduction || !o.Succeeded() && !o.Rejected()) {
				if firstFail < 0 || o.Sent < firstFail {
					firstFail = o.Sent
				}
			}
		}
		if firstFail >= 0 {
			out = append(out, result.DrillEvent{AtS: at(ev.Began.Add(firstFail)), What: "first order production did not answer"})
		}
	}
	var first time.Time
	for _, d := range ev.Dynos {
		if strings.HasPrefix(d.Dyno, "standby-") && d.Outcome != "refused" && (first.IsZero() || d.Arrived.Before(first)) {
			first = d.Arrived
		}
	}
	if !first.IsZero() {
		out = append(out, result.DrillEvent{AtS: at(first), What: "first order answered by the standby"})
	}
	return out
}

// StandbyMonthlyCostCents is a standby's monthly cost (730 hours) in its
// mode at hourly prices in cents: hot runs its control plane, db and
// dynos; warm its control plane and db; cold nothing.
func StandbyMonthlyCostCents(mode string, dynos int, dynoHour, controlPlaneHour, dbHour int64) int64 {
	const hours = 730
	switch mode {
	case "hot":
		return hours * (controlPlaneHour + dbHour + int64(dynos)*dynoHour)
	case "warm":
		return hours * (controlPlaneHour + dbHour)
	}
	return 0
}
