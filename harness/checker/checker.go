package checker

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/sim/wire"
)

// Evidence is everything the checker joins: what the client saw and what
// every store holds at the end. Times are wall clock; Speed converts them.
type Evidence struct {
	Orders     []load.SentOrder
	Outcomes   []load.Outcome
	Edge       []wire.EdgeRecord
	Ledger     []wire.Charge
	DB         []wire.OrderRecord
	Captured   []wire.CapturedRequest
	Dynos      []wire.DynoRecord
	Replays    []wire.ReplayRecord
	Reconciles []wire.ReconcileRecord
	Faults     []fault.Window
	Began      time.Time     // the load's start, wall clock
	LoadWall   time.Duration // how long the load ran, wall
	Speed      float64
	RTOWindow  time.Duration // model
	// Regions is what a system with a standby region adds; nil without
	// one. StandbyDynos counts the standby's dynos, whose records are in
	// Dynos too.
	Regions      *RegionEvidence
	StandbyDynos int
}

// MaxEvidence bounds the anomalies listed per kind; the counts stay exact.
const MaxEvidence = 50

// Check computes every figure of DESIGN.md's checker from the evidence.
// It is pure: the same evidence gives the same result.
func Check(ev Evidence) result.Result {
	var r result.Result
	model := func(d time.Duration) float64 { return d.Seconds() * ev.Speed }

	orders := map[string]load.SentOrder{}
	for _, o := range ev.Orders {
		orders[o.RequestID] = o
	}
	told := map[string]load.Outcome{}
	for _, o := range ev.Outcomes {
		told[o.RequestID] = o
	}
	byRef := map[string][]wire.Charge{}
	chargeByID := map[string]wire.Charge{}
	for _, c := range ev.Ledger {
		byRef[c.Reference] = append(byRef[c.Reference], c)
		chargeByID[c.ID] = c
	}
	held := map[string]wire.OrderRecord{}
	for _, o := range ev.DB {
		held[o.RequestID] = o
	}
	captured := map[string]bool{}
	for _, c := range ev.Captured {
		captured[c.RequestID] = true
	}
	failedOver := map[string]bool{}
	for _, e := range ev.Edge {
		if e.AnsweredBy == wire.AnsweredByCapture {
			failedOver[e.RequestID] = true
		}
	}

	brief := func(cs []wire.Charge) []result.ChargeBrief {
		out := make([]result.ChargeBrief, len(cs))
		for i, c := range cs {
			out[i] = result.ChargeBrief{ID: c.ID, Reference: c.Reference, AtS: model(c.CreatedAt.Sub(ev.Began))}
		}
		return out
	}
	counts := map[string]int{}
	add := func(kind string, o load.SentOrder, out load.Outcome, cs []wire.Charge, detail string) {
		counts[kind]++
		if counts[kind] > MaxEvidence {
			return
		}
		r.Anomalies = append(r.Anomalies, result.Anomaly{
			Kind: kind, RequestID: o.RequestID, Reference: o.Reference, Customer: o.Customer,
			AmountCents: o.AmountCents, ClientTold: describe(out), Charges: brief(cs), Detail: detail,
		})
	}

	outs := outages(&r, ev, model)
	inOutage := func(sent time.Duration) bool {
		t := model(sent)
		for _, o := range outs {
			end := o.EndS
			if o.RTOS != nil {
				end = math.Max(end, o.StartS+*o.RTOS)
			}
			if t >= o.StartS && t < end {
				return true
			}
		}
		return false
	}

	var latencies []float64
	var lost []load.Outcome
	for _, out := range ev.Outcomes {
		o, ok := orders[out.RequestID]
		if !ok {
			continue // a result vegeta could not tie to an order: counted below
		}
		r.Orders.Sent++
		latencies = append(latencies, out.Latency.Seconds()*1000*ev.Speed)
		switch {
		case out.Succeeded():
			r.Orders.Succeeded++
		case out.Rejected():
			r.Orders.Rejected++
		default:
			r.Orders.Errored++
		}
		if failedOver[o.RequestID] || out.AnsweredBy == wire.AnsweredByCapture {
			r.Failovers++
		}
		cs := byRef[o.Reference]
		if len(cs) >= 2 {
			add(result.KindDoubleCharge, o, out, cs, fmt.Sprintf("%d charges for one order", len(cs)))
		}
		if len(cs) >= 1 && !out.Succeeded() {
			add(result.KindPhantomCharge, o, out, cs, "charged, but the customer was told it failed")
		}
		rec, inDB := held[o.RequestID]
		isHeld := inDB || captured[o.RequestID]
		if out.Succeeded() && !isHeld {
			add(result.KindLostOrder, o, out, cs, "accepted, and no store holds it")
			lost = append(lost, out)
			if inOutage(out.Sent) {
				r.RPOOrders++
				r.RPOCents += o.AmountCents
			}
		}
		if out.Succeeded() && isHeld && len(cs) == 0 {
			add(result.KindUnreconciled, o, out, nil, heldWhere(rec, inDB, captured[o.RequestID]))
			r.ExposureCents += o.AmountCents
		}
		if inDB {
			if c, ok := chargeByID[rec.GatewayID]; ok && c.Reference != o.Reference {
				add(result.KindWrongMatch, o, out, []wire.Charge{c},
					fmt.Sprintf("gateway id %s belongs to order %s", c.ID, c.Reference))
			}
		}
	}
	r.Orders.Errored += len(ev.Outcomes) - r.Orders.Sent // untied results are errors
	r.Orders.Sent = len(ev.Outcomes)

	r.Charges = len(ev.Ledger)
	r.DoubleCharges = counts[result.KindDoubleCharge]
	r.PhantomCharges = counts[result.KindPhantomCharge]
	r.LostOrders = counts[result.KindLostOrder]
	r.Unreconciled = counts[result.KindUnreconciled]
	r.WrongMatches = counts[result.KindWrongMatch]
	if r.Orders.Sent > 0 {
		r.SuccessRate = float64(r.Orders.Succeeded) / float64(r.Orders.Sent)
		r.FailoverRate = float64(r.Failovers) / float64(r.Orders.Sent)
	}
	r.LatencyMS = percentiles(latencies)
	r.QueueMS = queueTimes(ev.Dynos, ev.Speed)
	r.Outages = outs
	for _, o := range outs {
		if o.Error != "" {
			r.FaultErrors++
		}
		if o.RTOS == nil {
			continue
		}
		if r.RTOS == nil || *o.RTOS > *r.RTOS {
			v := *o.RTOS
			r.RTOS = &v
		}
	}
	r.Replays, r.Reconcile = ReplayProgress(ev), ReconcileProgress(ev)
	if ev.Regions != nil {
		checkRegions(&r, ev, lost, orders, told, add)
	}
	sort.SliceStable(r.Anomalies, func(i, j int) bool { return r.Anomalies[i].Kind < r.Anomalies[j].Kind })
	return r
}

// describe says what the client was told, for a person.
func describe(o load.Outcome) string {
	switch {
	case o.Code == 0 && o.Error != "":
		return "no answer: " + o.Error
	case o.AnsweredBy != "":
		return fmt.Sprintf("%d from %s", o.Code, o.AnsweredBy)
	default:
		return fmt.Sprintf("%d", o.Code)
	}
}

func heldWhere(rec wire.OrderRecord, inDB, inCapture bool) string {
	var where []string
	if inDB {
		where = append(where, fmt.Sprintf("db (state %s, gateway id %s)", rec.State, rec.GatewayID))
	}
	if inCapture {
		where = append(where, "capture")
	}
	return "accepted, held in " + strings.Join(where, " and ") + ", never charged"
}

func percentiles(ms []float64) result.Percentiles {
	if len(ms) == 0 {
		return result.Percentiles{}
	}
	sort.Float64s(ms)
	return result.Percentiles{P50: Quantile(ms, 0.50), P95: Quantile(ms, 0.95), P99: Quantile(ms, 0.99), Max: ms[len(ms)-1]}
}

// Quantile of sorted xs, nearest rank: how the checker reads percentiles.
func Quantile(xs []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

func queueTimes(recs []wire.DynoRecord, speed float64) result.QueueTimes {
	var kept []wire.DynoRecord
	for _, d := range recs {
		if d.Outcome != "refused" {
			kept = append(kept, d)
		}
	}
	if len(kept) == 0 {
		return result.QueueTimes{}
	}
	ms := make([]float64, len(kept))
	var sum float64
	for i, d := range kept {
		ms[i] = d.Queued.Seconds() * 1000 * speed
		sum += ms[i]
	}
	q := result.QueueTimes{Mean: sum / float64(len(ms)), MeanCI95: meanCI95(kept, speed)}
	sort.Float64s(ms)
	q.P99 = Quantile(ms, 0.99)
	return q
}

// meanCI95 is the half-width of the 95% confidence interval of the mean
// queue time by batch means: the records in order of arrival cut into 20
// batches of equal count, whose means, each over a stretch of the run
// much longer than a queue's memory, are close to independent; Student's
// t with 19 degrees of freedom. 0 for fewer than 20 records a batch.
func meanCI95(recs []wire.DynoRecord, speed float64) float64 {
	const batches, t19 = 20, 2.093
	per := len(recs) / batches
	if per < 20 {
		return 0
	}
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b wire.DynoRecord) int { return a.Arrived.Compare(b.Arrived) })
	means := make([]float64, batches)
	var all float64
	for b := range batches {
		var s float64
		for _, d := range recs[b*per : (b+1)*per] {
			s += d.Queued.Seconds() * 1000 * speed
		}
		means[b] = s / float64(per)
		all += means[b]
	}
	all /= batches
	var ss float64
	for _, m := range means {
		ss += (m - all) * (m - all)
	}
	return t19 * math.Sqrt(ss/(batches-1)/batches)
}

func ReplayProgress(ev Evidence) result.Progress {
	final := map[string]bool{}
	for _, r := range ev.Replays {
		if r.Outcome != wire.ReplayError {
			final[r.RequestID] = true
		}
	}
	p := result.Progress{Done: len(final)}
	for _, c := range ev.Captured {
		if !final[c.RequestID] {
			p.Pending++
		}
	}
	return p
}

func ReconcileProgress(ev Evidence) result.Progress {
	var p result.Progress
	for _, o := range ev.DB {
		if strings.HasPrefix(o.GatewayID, wire.GatewayDownPrefix) {
			p.Pending++
		}
	}
	for _, r := range ev.Reconciles {
		if r.Action != wire.ReconcileError {
			p.Done++
		}
	}
	return p
}

// outages measures, for every fault, the RTO: model seconds from the
// fault's start until production (not capture) again answers at least 99%
// of the orders sent within a window of RTOWindow model time.
func outages(r *result.Result, ev Evidence, model func(time.Duration) float64) []result.Outage {
	type sent struct {
		t  float64
		ok bool // answered by production, without a 5xx
	}
	var xs []sent
	for _, o := range ev.Outcomes {
		ok := o.AnsweredBy == wire.AnsweredByProduction && o.Code > 0 && o.Code < 500
		xs = append(xs, sent{model(o.Sent), ok})
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].t < xs[j].t })
	end := model(ev.LoadWall)
	w := ev.RTOWindow.Seconds()

	var out []result.Outage
	for _, f := range ev.Faults {
		o := result.Outage{
			Fault: f.Fault.Index, Name: f.Fault.Name, Link: f.Fault.Link, Toxic: f.Fault.Toxic,
			StartS: model(f.Start), EndS: model(f.End), Error: f.Err,
		}
		// Slide a window [t, t+w] over the orders sent from the fault's
		// start; the first window that holds orders, fits in the load, and
		// has ≥ 99% answered by production marks the recovery at t.
		lo := sort.Search(len(xs), func(i int) bool { return xs[i].t >= o.StartS })
		hi, good := lo, 0
		for i := lo; i < len(xs); i++ {
			t := xs[i].t
			if t+w > end {
				break
			}
			for hi < len(xs) && xs[hi].t <= t+w {
				if xs[hi].ok {
					good++
				}
				hi++
			}
			if n := hi - i; n > 0 && float64(good) >= 0.99*float64(n) {
				rto := math.Max(0, t-o.StartS)
				o.RTOS, o.Recovered = &rto, true
				break
			}
			if xs[i].ok {
				good--
			}
		}
		out = append(out, o)
	}
	return out
}
