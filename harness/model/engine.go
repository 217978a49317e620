package model

import (
	"math"
	"math/rand"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"paydrill/sim/dist"
	"paydrill/sim/dyno"
	"paydrill/sim/router"
)

// The simulation is a queue of events in virtual time (model seconds),
// each handled in the order of its time (ties: the order they were
// scheduled), never a wall clock. Each handler is the component's
// behaviour at that moment, as the live component's code has it (named
// in each handler's comment).
type kind uint8

const (
	evArrival       kind = iota // the next order reaches the edge
	evAtRouter                  // a request reaches the router
	evAtDyno                    // a request reaches its dyno
	evWorkDone                  // a worker is done with a request
	evDynoAnswer                // a dyno's answer (or an error) reaches the router
	evRouterTimeout             // the router gives up on a request
	evProdAnswer                // production's answer reaches the edge
	evFailover                  // the edge stops waiting for production
	evCaptureAnswer             // capture's answer reaches the client
	evReplayTick                // the replayer looks at capture (mode auto)
	evReplayAt                  // the harness tells the replayer to replay (mode at)
	evReplaySend                // the replayer sends the next order of its pass
	evReplayAnswer              // production's answer reaches the replayer
	evReplayTimeout             // the replayer stops waiting for one order
)

type event struct {
	t      float64
	seq    uint64
	kind   kind
	o      *order
	r      *request
	status int
}

// events is a binary min-heap by (t, seq).
type events []event

func (h events) less(i, j int) bool {
	if h[i].t != h[j].t {
		return h[i].t < h[j].t
	}
	return h[i].seq < h[j].seq
}

func (h *events) push(e event) {
	*h = append(*h, e)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *events) pop() event {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && q.less(l, m) {
			m = l
		}
		if r < n && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}

// order stages at the edge.
const (
	atProduction = iota
	atCapture
	answered
)

// order is one order of the load, from the edge's point of view, with the
// de-duplication state its copies (the original and a replay) share.
type order struct {
	k      int // its index among the orders sent (rtoTracker)
	sent   float64
	amount int64
	stage  uint8
	req    *request // its request to production
	// claimed: a copy took the claim (dedupe claim); inserted: when a
	// copy's insert reached the db (dedupe off and check).
	claimed  bool
	inserted float64
	// replayed: a replay had a final answer.
	replayed bool
}

// request is one request to production through the router: an order's,
// sent by the edge, or a replay's, sent by the replayer.
type request struct {
	o          *order
	replay     bool
	dyno       int
	routerOpen bool // the router counts it in flight and waits for its answer
	arrived    float64
	status     int
	pass       *pass // a replay's pass
	answered   bool  // a replay's answer (or timeout) was counted
}

// dynoState is one dyno: its idle workers, its backlog (FIFO), its
// service-time draws.
type dynoState struct {
	free    int
	backlog []*request
	head    int
	rng     *rand.Rand
	service dist.Dist
	link    string // the router's link to it: router->dyno[i]
}

func (d *dynoState) waiting() int { return len(d.backlog) - d.head }

// pass is one replay pass: the captured orders pending when it started,
// sent at the replay rate, and how many have had their answer.
type pass struct {
	todo    []*order
	next    int
	pending int
}

// engine is one run of the simulation.
type engine struct {
	cfg  *config
	q    events
	seq  uint64
	now  float64
	stop bool

	arrivals vegeta.Pacer
	hits     uint64
	loadEnd  float64
	loadDone bool // every order has been sent

	strategy router.Strategy
	inflight []int64
	dynos    []dynoState
	gateway  *rand.Rand
	links    *links

	captured []*order // capture's store, in order: what the replayer reads
	pass     *pass

	st    *stats
	rto   *rtoTracker
	flows int // orders not yet answered
}

func (e *engine) at(t float64, k kind, o *order, r *request, status int) {
	e.seq++
	e.q.push(event{t: t, seq: e.seq, kind: k, o: o, r: r, status: status})
}

// run handles every event until none is left, or the settle timeout
// after the load's end passes with replays still pending.
func (e *engine) run(deadline float64) (settled bool) {
	e.scheduleArrival()
	if e.cfg.replayMode == replayAuto {
		e.at(e.cfg.replayInterval, evReplayTick, nil, nil, 0)
	}
	if e.cfg.replayMode == replayAt {
		e.at(e.cfg.replayAt, evReplayAt, nil, nil, 0)
	}
	for len(e.q) > 0 {
		ev := e.q.pop()
		if ev.t > deadline {
			return false
		}
		e.now = ev.t
		e.handle(ev)
	}
	return true
}

func (e *engine) handle(ev event) {
	t := ev.t
	switch ev.kind {
	case evArrival:
		e.arrive(t)
	case evAtRouter:
		e.route(ev.r, t)
	case evAtDyno:
		e.enterDyno(ev.r, t)
	case evWorkDone:
		e.workDone(ev.r, t)
	case evDynoAnswer:
		e.routerAnswer(ev.r, t, ev.status)
	case evRouterTimeout:
		if ev.r.routerOpen {
			e.closeRouter(ev.r)
			e.answerCaller(ev.r, t, http.StatusServiceUnavailable)
		}
	case evProdAnswer:
		e.prodAnswer(ev.o, ev.r, t, ev.status)
	case evFailover:
		o := ev.o
		if o.stage == atProduction {
			if r := o.req; r != nil && r.routerOpen {
				e.closeRouter(r) // the edge hung up: the router stops counting it
			}
			e.failover(o, t)
		}
	case evCaptureAnswer:
		e.finish(ev.o, t, ev.status, captureAnswered(ev.status))
	case evReplayTick:
		e.replayTick(t)
	case evReplayAt:
		if e.pass == nil {
			e.startPass(t)
		}
	case evReplaySend:
		e.replaySend(t)
	case evReplayAnswer:
		e.replayAnswer(ev.r, ev.status)
	case evReplayTimeout:
		e.replayAnswer(ev.r, 0)
	}
}

// scheduleArrival asks the load's pacer (the one vegeta paces the live
// runs with) when the next order is due.
func (e *engine) scheduleArrival() {
	elapsed := time.Duration(e.now * float64(time.Second))
	wait, stop := e.arrivals.Pace(elapsed, e.hits)
	if stop {
		e.loadDone = true
		e.maybeEnd()
		return
	}
	e.at(e.now+wait.Seconds(), evArrival, nil, nil, 0)
}

// arrive is an order reaching the edge (sim/edge serveForward): it is
// sent to production with the failover timeout running.
func (e *engine) arrive(t float64) {
	o := &order{sent: t, amount: e.cfg.orders.AmountCents(int(e.hits)), inserted: math.Inf(1)}
	e.hits++
	o.k = e.rto.send(t)
	e.flows++
	e.st.sent++
	e.scheduleArrival()

	e.at(t+e.cfg.failoverTimeout, evFailover, o, nil, 0)
	eff := e.links.cross(t, true, linkEdgeRouter)
	switch {
	case eff.down:
		e.failover(o, t)
	case eff.blackhole:
		if eff.closeAfter > 0 {
			e.at(t+eff.closeAfter, evFailover, o, nil, 0)
		}
	default:
		r := &request{o: o}
		o.req = r
		e.at(t+eff.delay, evAtRouter, nil, r, 0)
	}
}

// route is the router picking a dyno (sim/router proxy, with the same
// Strategy code) and forwarding the request within its timeout.
func (e *engine) route(r *request, t float64) {
	if !r.replay && (r.o.stage != atProduction || r.o.req != r) {
		return // the edge hung up before the request got here
	}
	if r.replay && r.answered {
		return
	}
	d := e.strategy.Pick(e.inflight)
	if d < 0 || d >= len(e.dynos) {
		d = 0
	}
	r.dyno, r.routerOpen = d, true
	e.inflight[d]++
	e.at(t+e.cfg.routerTimeout, evRouterTimeout, nil, r, 0)
	eff := e.links.cross(t, true, e.dynos[d].link, linkRouterDynos)
	switch {
	case eff.down:
		e.at(t, evDynoAnswer, nil, r, http.StatusServiceUnavailable)
	case eff.blackhole:
		if eff.closeAfter > 0 {
			e.at(t+eff.closeAfter, evDynoAnswer, nil, r, http.StatusServiceUnavailable)
		}
	default:
		e.at(t+eff.delay, evAtDyno, nil, r, 0)
	}
}

func (e *engine) closeRouter(r *request) {
	r.routerOpen = false
	e.inflight[r.dyno]--
}

// enterDyno is a request reaching a dyno (sim/dyno serveOrder and queue):
// a free worker takes it, or it waits in the backlog, or it is refused
// with 503 when the backlog is full.
func (e *engine) enterDyno(r *request, t float64) {
	d := &e.dynos[r.dyno]
	r.arrived = t
	switch {
	case d.free > 0:
		d.free--
		e.startWork(r, t)
	case d.waiting() < e.cfg.backlog:
		d.backlog = append(d.backlog, r)
	default:
		e.st.refused++
		e.dynoAnswer(r, t, http.StatusServiceUnavailable)
	}
}

// startWork is a worker taking a request: its wait in the backlog is the
// queue time; it holds the worker for the sampled service time plus the
// gateway's wait (sim/dyno: busy = service + gateway wait).
func (e *engine) startWork(r *request, t float64) {
	d := &e.dynos[r.dyno]
	e.st.queued(1000 * (t - r.arrived))
	service := d.service.Sample(d.rng)
	gw, status := e.work(r, t)
	r.status = status
	e.at(t+service+gw, evWorkDone, nil, r, 0)
}

func (e *engine) workDone(r *request, t float64) {
	d := &e.dynos[r.dyno]
	if d.waiting() > 0 {
		next := d.backlog[d.head]
		d.backlog[d.head] = nil
		d.head++
		if d.head > 1024 && 2*d.head > len(d.backlog) {
			d.backlog = append(d.backlog[:0], d.backlog[d.head:]...)
			d.head = 0
		}
		e.startWork(next, t)
	} else {
		d.free++
	}
	e.dynoAnswer(r, t, r.status)
}

// work is what a worker does with the order (sim/dyno work): de-duplicate
// by request id as the dedupe setting says, charge the gateway, save. It
// returns the time spent waiting for the gateway and the answer's status.
func (e *engine) work(r *request, t float64) (float64, int) {
	o := r.o
	switch e.cfg.dedupe {
	case dyno.DedupeClaim:
		if o.claimed {
			return 0, http.StatusOK // the claim is taken: a duplicate, never charged
		}
		o.claimed = true
		return e.charge(o, t)
	case dyno.DedupeCheck:
		if o.inserted <= t {
			return 0, http.StatusOK // found by the look-up
		}
	}
	gw, status := e.charge(o, t)
	if ins := t + gw; o.inserted <= ins {
		status = http.StatusOK // the insert met the other copy's: 409, a duplicate
	} else {
		o.inserted = ins
	}
	return gw, status
}

// charge is one charge at the gateway within the gateway timeout (sim/dyno
// charge and gatewayWait): a timeout or an error means the gateway is
// down, and a low-risk order is then accepted uncharged.
func (e *engine) charge(o *order, t float64) (float64, int) {
	to := e.cfg.gatewayTimeout
	down := func(wait float64) (float64, int) {
		if o.amount < e.cfg.riskLimit {
			return wait, http.StatusCreated // deferred, gateway-down-*
		}
		return wait, http.StatusPaymentRequired
	}
	up := e.links.cross(t, true, linkDynoGateway)
	switch {
	case up.down:
		return down(0)
	case up.blackhole:
		if up.closeAfter > 0 && up.closeAfter < to {
			return down(up.closeAfter)
		}
		return down(to)
	}
	wait := up.delay + e.cfg.gatewayLatency.Sample(e.gateway)
	back := e.links.cross(t+wait, false, linkDynoGateway)
	switch {
	case back.down:
		return down(min(wait, to))
	case back.blackhole:
		if back.closeAfter > 0 && wait+back.closeAfter < to {
			return down(wait + back.closeAfter)
		}
		return down(to)
	}
	wait += back.delay
	if wait >= to {
		return down(to)
	}
	return wait, http.StatusCreated
}

// dynoAnswer sends a dyno's answer back over the router's link to it.
func (e *engine) dynoAnswer(r *request, t float64, status int) {
	eff := e.links.cross(t, false, e.dynos[r.dyno].link, linkRouterDynos)
	switch {
	case eff.down:
		e.at(t, evDynoAnswer, nil, r, http.StatusServiceUnavailable)
	case eff.blackhole:
		if eff.closeAfter > 0 {
			e.at(t+eff.closeAfter, evDynoAnswer, nil, r, http.StatusServiceUnavailable)
		}
	default:
		e.at(t+eff.delay, evDynoAnswer, nil, r, status)
	}
}

// routerAnswer is an answer reaching the router, which relays it unless
// it has given up on the request already.
func (e *engine) routerAnswer(r *request, t float64, status int) {
	if !r.routerOpen {
		return
	}
	e.closeRouter(r)
	e.answerCaller(r, t, status)
}

// answerCaller sends the router's answer to whoever asked: the edge over
// edge->router, or the replayer over replayer->router.
func (e *engine) answerCaller(r *request, t float64, status int) {
	link := linkEdgeRouter
	if r.replay {
		link = linkReplayerRouter
	}
	eff := e.links.cross(t, false, link)
	switch {
	case eff.down:
		status = 0
	case eff.blackhole:
		if eff.closeAfter == 0 {
			return // the caller's own timeout ends it
		}
		t, status = t+eff.closeAfter, 0
	default:
		t += eff.delay
	}
	if r.replay {
		e.at(t, evReplayAnswer, nil, r, status)
		return
	}
	e.at(t, evProdAnswer, r.o, r, status)
}

// prodAnswer is production's answer (or an error: status 0) at the edge:
// a 2xx-4xx answers the client; a 5xx or an error fails over.
func (e *engine) prodAnswer(o *order, r *request, t float64, status int) {
	if o.stage != atProduction || o.req != r {
		return
	}
	if status > 0 && status < 500 {
		e.finish(o, t, status, byProduction)
		return
	}
	e.failover(o, t)
}

// failover sends the identical request to capture (sim/edge), which
// accepts an order under the risk limit after storing it and refuses the
// rest with 402 (sim/capture).
func (e *engine) failover(o *order, t float64) {
	o.stage = atCapture
	if t >= o.sent+e.cfg.clientTimeout {
		e.finish(o, t, 0, byNone) // the client has gone: nobody to fail over for
		return
	}
	up := e.links.cross(t, true, linkEdgeCapture)
	switch {
	case up.down:
		e.at(t, evCaptureAnswer, o, nil, http.StatusBadGateway)
		return
	case up.blackhole:
		wait := e.cfg.captureTimeout
		if up.closeAfter > 0 {
			wait = min(wait, up.closeAfter)
		}
		e.at(t+wait, evCaptureAnswer, o, nil, http.StatusBadGateway)
		return
	}
	t += up.delay
	status := http.StatusPaymentRequired
	if o.amount < e.cfg.riskLimit {
		status = http.StatusCreated
		e.captured = append(e.captured, o)
	}
	back := e.links.cross(t, false, linkEdgeCapture)
	switch {
	case back.down:
		status = http.StatusBadGateway
	case back.blackhole:
		wait := e.cfg.captureTimeout - up.delay
		if back.closeAfter > 0 {
			wait = min(wait, back.closeAfter)
		}
		t, status = t+max(wait, 0), http.StatusBadGateway
	default:
		t += back.delay
	}
	e.at(t, evCaptureAnswer, o, nil, status)
}

// Who answered an order, as the edge records it.
const (
	byProduction = iota
	byCapture
	byNone
)

func captureAnswered(status int) int {
	if status == http.StatusBadGateway {
		return byNone
	}
	return byCapture
}

// finish is the client's answer: counted, its latency kept, its
// production flag told to the RTO tracker.
func (e *engine) finish(o *order, t float64, status, by int) {
	if o.stage == answered {
		return
	}
	o.stage = answered
	latency := t - o.sent
	if latency > e.cfg.clientTimeout {
		latency, status, by = e.cfg.clientTimeout, 0, byNone
	}
	e.st.answer(status, by, 1000*latency)
	e.rto.answer(o.k, by == byProduction && status > 0 && status < 500)
	e.flows--
	e.maybeEnd()
}

// maybeEnd notes the load's end once every order is sent and answered.
func (e *engine) maybeEnd() {
	if e.loadDone && e.flows == 0 && !e.rto.done {
		e.rto.end()
	}
}

// replayTick is the replayer's look at capture every interval (sim/replayer,
// mode auto): a pass starts when orders are pending and production's
// /readyz answers through the replayer's link.
func (e *engine) replayTick(t float64) {
	pending := e.pending()
	if e.pass == nil && pending > 0 {
		eff := e.links.cross(t, true, linkReplayerRouter)
		if !eff.down && !eff.blackhole {
			e.startPass(t)
		}
	}
	if e.loadDone && e.flows == 0 && e.pass == nil && pending == 0 {
		return // settled: nothing left to replay
	}
	e.at(t+e.cfg.replayInterval, evReplayTick, nil, nil, 0)
}

func (e *engine) pending() int {
	n := 0
	for _, o := range e.captured {
		if !o.replayed {
			n++
		}
	}
	return n
}

// startPass takes the orders capture holds that have no final replay yet,
// in capture's order.
func (e *engine) startPass(t float64) {
	p := &pass{}
	for _, o := range e.captured {
		if !o.replayed {
			p.todo = append(p.todo, o)
		}
	}
	if len(p.todo) == 0 {
		return
	}
	e.pass = p
	e.at(t, evReplaySend, nil, nil, 0)
}

// replaySend sends the pass's next order, with its original request id,
// and schedules the one after at the replay rate.
func (e *engine) replaySend(t float64) {
	p := e.pass
	o := p.todo[p.next]
	p.next++
	p.pending++
	r := &request{o: o, replay: true, pass: p}
	e.at(t+e.cfg.replayTimeout, evReplayTimeout, nil, r, 0)
	eff := e.links.cross(t, true, linkReplayerRouter)
	switch {
	case eff.down:
		e.at(t, evReplayAnswer, nil, r, 0)
	case eff.blackhole:
		if eff.closeAfter > 0 {
			e.at(t+eff.closeAfter, evReplayAnswer, nil, r, 0)
		}
	default:
		e.at(t+eff.delay, evAtRouter, nil, r, 0)
	}
	if p.next < len(p.todo) {
		e.at(t+1/e.cfg.replayRate, evReplaySend, nil, nil, 0)
	}
}

// replayAnswer records a replay's outcome: a 2xx or 4xx is final, a 5xx,
// an error or a timeout (status 0) leaves the order to a later pass.
func (e *engine) replayAnswer(r *request, status int) {
	if r.answered {
		return
	}
	r.answered = true
	if status > 0 && status < 500 {
		r.o.replayed = true
	}
	p := r.pass
	p.pending--
	if p.next == len(p.todo) && p.pending == 0 && e.pass == p {
		e.pass = nil
	}
}
