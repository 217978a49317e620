package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"paydrill/sim/dist"
)

// Validate checks that the scenario's values make sense, alone and
// together, and returns every problem at once (in file order), each an
// *Error naming the file, line, column and key path of the value at fault:
// non-positive durations, rates and counts, unknown strategy, ack, dedupe,
// match, replay mode, toxic, stream, link or target, dyno indexes out of range,
// faults starting after the end, attributes a toxic does not have,
// distributions with missing, foreign or invalid parameters, and
// expectations that do not parse. It returns nil when the scenario is valid.
// Values given with Set are reported with the file "--set".
func (s *Scenario) Validate() []error {
	v := &validator{s: s}
	v.run()
	if len(v.errs) == 0 {
		return nil
	}
	v.errs.Sort()
	return v.errs.Errors()
}

// Pos returns where the value at the key path (as in errors:
// "system.dynos.count", "faults[1].at", "expect[0]") was written: its file,
// line and column, "--set" when it came from Set, or only the scenario's
// file when it was not written (a default).
func (s *Scenario) Pos(key string) Pos {
	if p, ok := s.pos[key]; ok {
		return p
	}
	return Pos{File: s.File}
}

// ErrorAt returns an *Error about the value at key, placed where that value
// (or, when it was not written, the nearest enclosing value) was written, so
// that the harness can point its own errors at a fault or an expectation.
func (s *Scenario) ErrorAt(key, format string, args ...any) *Error {
	return newError(s.near(key), key, format, args...)
}

// near returns the position of key, or of the closest enclosing key that
// was written.
func (s *Scenario) near(key string) Pos {
	for k := key; k != ""; k = parentKey(k) {
		if p, ok := s.pos[k]; ok {
			return p
		}
	}
	return Pos{File: s.File}
}

func parentKey(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

// given reports whether key was written in the file or with Set.
func (s *Scenario) given(key string) bool {
	_, ok := s.pos[key]
	return ok
}

type validator struct {
	s    *Scenario
	errs ErrorList
}

func (v *validator) errorf(key, format string, args ...any) {
	v.errs = append(v.errs, v.s.ErrorAt(key, format, args...))
}

func (v *validator) run() {
	s := v.s
	if strings.TrimSpace(s.Name) == "" {
		v.errorf("name", "must not be empty")
	}
	if !s.AutoSpeed() && (!(s.Speed > 0) || math.IsInf(s.Speed, 0)) {
		v.errorf("speed", "must be greater than 0, or auto, got %g", s.Speed)
	}
	v.positive("duration", s.Duration)

	sys := &s.System
	v.positive("system.edge.failover_timeout", sys.Edge.FailoverTimeout)
	v.enum("system.capture.ack", sys.Capture.Ack, "ack")
	v.positive("system.capture.flush", sys.Capture.Flush)
	if sys.Capture.Ack == "early" && sys.Capture.Flush > 0 && s.Settle.Quiet > 0 && 2*sys.Capture.Flush > s.Settle.Quiet {
		v.errorf("system.capture.flush", "must be at most half of settle.quiet (%s) with ack: early, so capture has written "+
			"the last orders it acknowledged before the harness checks them, got %s",
			FormatDuration(s.Settle.Quiet), FormatDuration(sys.Capture.Flush))
	}
	v.enum("system.router.strategy", sys.Router.Strategy, "strategy")
	v.positive("system.router.timeout", sys.Router.Timeout)
	v.atLeast("system.dynos.count", sys.Dynos.Count, 1)
	v.atLeast("system.dynos.workers", sys.Dynos.Workers, 1)
	v.atLeast("system.dynos.backlog", sys.Dynos.Backlog, 0)
	v.timeDist("system.dynos.service_time", &sys.Dynos.ServiceTime)
	v.redundancy()
	v.positive("system.app.gateway_timeout", sys.App.GatewayTimeout)
	if sys.App.RiskLimit < 0 {
		v.errorf("system.app.risk_limit", "must be 0 or more, got %s", FormatMoney(sys.App.RiskLimit))
	}
	v.enum("system.app.dedupe", sys.App.Dedupe, "dedupe")
	v.timeDist("system.gateway.latency", &sys.Gateway.Latency)
	v.positive("system.reconciler.interval", sys.Reconciler.Interval)
	v.enum("system.reconciler.match", sys.Reconciler.Match, "match")
	v.positive("system.reconciler.window", sys.Reconciler.Window)
	v.enum("system.replayer.mode", sys.Replayer.Mode, "replay_mode")
	switch {
	case sys.Replayer.Mode == "at" && !s.given("system.replayer.at") && sys.Replayer.At == 0:
		v.errorf("system.replayer.at", "required with mode: at (when to replay, e.g. at: 4m)")
	case sys.Replayer.Mode != "at" && (s.given("system.replayer.at") || sys.Replayer.At != 0):
		v.errorf("system.replayer.at", "only applies to mode: at (mode is %s)", sys.Replayer.Mode)
	case sys.Replayer.At < 0:
		v.errorf("system.replayer.at", "must be 0 or more, got %s", FormatDuration(sys.Replayer.At))
	}
	v.rate("system.replayer.rate", sys.Replayer.Rate, false)

	v.rate("load.rate", s.Load.Rate, false)
	v.enum("load.arrivals", s.Load.Arrivals, "arrivals")
	var staged time.Duration
	for i, st := range s.Load.Stages {
		p := fmt.Sprintf("load.stages[%d]", i)
		v.positive(p+".duration", st.Duration)
		v.rate(p+".rate", st.Rate, true)
		staged += st.Duration
	}
	if staged > s.Duration && s.Duration > 0 {
		v.errorf("load.stages", "the stages last %s, longer than the run (duration %s)", FormatDuration(staged), FormatDuration(s.Duration))
	}
	v.atLeast("load.customers", s.Load.Customers, 1)
	v.moneyDist("load.amount", &s.Load.Amount)
	v.positive("load.timeout", s.Load.Timeout)

	v.regions()
	v.faults()
	v.expectations()
	v.windows()
	v.abortIf()

	v.positive("settle.timeout", s.Settle.Timeout)
	v.positive("settle.quiet", s.Settle.Quiet)
	v.positive("rto_window", s.RTOWindow)
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.errorf(key, "must be greater than 0, got %s", FormatDuration(d))
	}
}

func (v *validator) atLeast(key string, n, least int) {
	if n < least {
		v.errorf(key, "must be at least %d, got %d", least, n)
	}
}

func (v *validator) rate(key string, r float64, zeroOK bool) {
	switch {
	case math.IsNaN(r) || math.IsInf(r, 0):
		v.errorf(key, "must be a finite rate")
	case r < 0:
		v.errorf(key, "must not be negative, got %s", FormatRate(r))
	case r == 0 && !zeroOK:
		v.errorf(key, "must be greater than 0, got 0/s")
	}
}

func (v *validator) enum(key, value, enum string) {
	values := enumValues(enum)
	if slices.Contains(values, value) {
		return
	}
	if value == "" {
		v.errorf(key, "must not be empty (one of %s)", strings.Join(values, ", "))
		return
	}
	v.errorf(key, "unknown %s %q%s", strings.ReplaceAll(enum, "_", " "), value, suggest(value, values))
}

func (v *validator) timeDist(key string, d *TimeDist) {
	v.distribution(key, reflect.ValueOf(d).Elem(), d.Dist, len(d.Samples) > 0, d.Spec())
}

func (v *validator) moneyDist(key string, d *MoneyDist) {
	v.distribution(key, reflect.ValueOf(d).Elem(), d.Dist, len(d.Samples) > 0, d.Spec())
}

// distribution checks a TimeDist or MoneyDist (the struct d) at key: a
// known kind, its required parameters given, no parameter of another kind,
// and then dist's own checks.
func (v *validator) distribution(key string, d reflect.Value, kind string, hasSamples bool, spec dist.Spec) {
	if kind == "" {
		v.errorf(key+".dist", "required (one of %s)", strings.Join(enums["dist"], ", "))
		return
	}
	params, ok := distParams[kind]
	if !ok {
		v.errorf(key+".dist", "unknown distribution %q%s", kind, suggest(kind, enums["dist"]))
		return
	}
	fs := fieldsOf(d.Type())
	given := func(p string) bool {
		if p == "file" && hasSamples {
			return true
		}
		return v.s.given(key+"."+p) || !d.Field(fs.byName[p].index).IsZero()
	}
	bad := false
	for _, p := range distParamKeys {
		if given(p) && !slices.Contains(params.all, p) {
			v.errorf(key+"."+p, "%s does not apply to a %s distribution (%s takes %s)", p, kind, kind, strings.Join(params.all, ", "))
			bad = true
		}
	}
	for _, p := range params.required {
		if !given(p) {
			v.errorf(key+"."+p, "required by a %s distribution (%s takes %s)", kind, kind, strings.Join(params.all, ", "))
			bad = true
		}
	}
	if bad || (kind == "empirical" && !hasSamples) { // unread samples were reported by Parse
		return
	}
	if err := spec.Validate(); err != nil {
		msg := err.Error()
		param, after, _ := strings.Cut(msg, " ")
		if slices.Contains(distParamKeys, param) {
			v.errorf(key+"."+param, "%s", after)
			return
		}
		v.errorf(key, "%s", msg)
	}
}

func (v *validator) faults() {
	s := v.s
	names := map[string]int{}
	for i, f := range s.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		if f.Name != "" {
			if j, dup := names[f.Name]; dup {
				v.errorf(p+".name", "duplicate fault name %q (also faults[%d])", f.Name, j)
			}
			names[f.Name] = i
		}
		switch {
		case f.At < 0:
			v.errorf(p+".at", "must be 0 or more, got %s", FormatDuration(f.At))
		case s.Duration > 0 && f.At >= s.Duration:
			v.errorf(p+".at", "the fault starts at %s, after the end of the run (duration %s)", FormatDuration(f.At), FormatDuration(s.Duration))
		}
		if (s.given(p+".for") || f.For != 0) && f.For <= 0 {
			v.errorf(p+".for", "must be greater than 0, got %s (leave it out for until the end of the run)", FormatDuration(f.For))
		}
		kind, known := lookupKind(f.Toxic)
		if f.Region != "" && !kind.Kubernetes {
			v.regionFault(p, f)
		}
		if f.Link == "db->replica" && !s.HasStandby() {
			v.errorf(p+".link", "db->replica is the replication link of a standby region: it needs system.regions.standby.mode hot, warm or cold")
		} else if f.Link != "" && f.Link != "db->replica" {
			v.indexed(p+".link", f.Link, "router->dyno", links, s.System.Dynos.Count)
		}
		if f.Target != "" {
			v.indexed(p+".target", f.Target, "dyno", targets, s.System.Dynos.Count)
		}
		switch {
		case f.Toxic == "":
			v.errorf(p+".toxic", "required: what the fault does (one of %s)", strings.Join(faultKindNames(nil), ", "))
		case !known:
			v.errorf(p+".toxic", "unknown toxic %q%s", f.Toxic, suggestOrList(f.Toxic, faultKindNames(nil)))
		case kind.Container:
			v.containerFault(p, f)
			v.noKubernetesKeys(p, f)
		case kind.Kubernetes:
			v.kubernetesFault(p, f, kind)
		default:
			v.linkFault(p, f, kind)
			v.noKubernetesKeys(p, f)
		}
	}
}

// noKubernetesKeys reports a zone or replicas on a fault that is not a
// Kubernetes fault taking them.
func (v *validator) noKubernetesKeys(p string, f Fault) {
	if v.s.given(p+".zone") || f.Zone != "" {
		v.errorf(p+".zone", "only Kubernetes faults %s name a zone; toxic %s does not",
			strings.Join(faultKindNames(func(k FaultKind) bool { return k.Kubernetes && k.Zone }), " and "), f.Toxic)
	}
	if v.s.given(p+".replicas") || f.Replicas != 0 {
		v.errorf(p+".replicas", "only the Kubernetes fault %s takes replicas; toxic %s does not",
			strings.Join(faultKindNames(func(k FaultKind) bool { return k.Kubernetes && k.Replicas }), " and "), f.Toxic)
	}
}

// kubernetesFault checks a fault on the cluster: what it names (a
// target, a zone, or either) as its kind says, its replicas, and no key
// of a link or container fault.
func (v *validator) kubernetesFault(p string, f Fault, k FaultKind) {
	s := v.s
	if f.Link != "" {
		v.errorf(p+".link", "%s is a Kubernetes fault: it acts on %s, not on a link", f.Toxic, kubernetesWhat(k))
	}
	if f.Region != "" {
		v.errorf(p+".region", "does not apply to Kubernetes fault %s", f.Toxic)
	}
	if s.given(p + ".stream") {
		v.errorf(p+".stream", "does not apply to Kubernetes fault %s", f.Toxic)
	}
	if len(f.Attributes) > 0 {
		v.errorf(p+".attributes", "Kubernetes fault %s takes no attributes", f.Toxic)
	}
	switch {
	case f.Target != "" && k.Target == "":
		v.errorf(p+".target", "%s acts on a zone: name it with zone (one of %s), not target", f.Toxic, strings.Join(enums["zone"], ", "))
	case f.Target != "" && f.Zone != "":
		v.errorf(p+".zone", "give target or zone, not both: %s acts on %s", f.Toxic, kubernetesWhat(k))
	case f.Zone != "" && !k.Zone:
		v.errorf(p+".zone", "%s takes no zone: it acts on %s", f.Toxic, kubernetesWhat(k))
	case f.Target == "" && f.Zone == "" && k.Target == "":
		v.errorf(p+".zone", "required by Kubernetes fault %s: the zone (one of %s)", f.Toxic, strings.Join(enums["zone"], ", "))
	case f.Target == "" && f.Zone == "":
		v.errorf(p+".target", "required by Kubernetes fault %s: %s", f.Toxic, kubernetesWhat(k))
	}
	if f.Zone != "" && k.Zone && !slices.Contains(enums["zone"], f.Zone) {
		v.errorf(p+".zone", "unknown zone %q (one of %s: the local cluster's zones)", f.Zone, strings.Join(enums["zone"], ", "))
	}
	role, index := SplitIndex(f.Target)
	if f.Target != "" && k.Target == TargetRole && index != 0 {
		what := "a whole role's nodes"
		if k.Replicas {
			what = "a whole role's replica count"
		}
		v.errorf(p+".target", "%s acts on %s: name the role (%s), not one instance (pod-kill kills one pod)", f.Toxic, what, role)
	}
	if k.Replicas {
		switch {
		case !s.given(p+".replicas") && f.Replicas == 0:
			v.errorf(p+".replicas", "required by Kubernetes fault %s: the replica count to set (0 or more)", f.Toxic)
		case f.Replicas < 0:
			v.errorf(p+".replicas", "must be 0 or more, got %d", f.Replicas)
		case f.Replicas > 1 && slices.Contains(statefulRoles, f.Target):
			v.errorf(p+".replicas", "%s keeps a store of its own: a second replica would keep a second one, which the checker never reads; scale it to 0 or 1, got %d",
				f.Target, f.Replicas)
		}
	} else if s.given(p+".replicas") || f.Replicas != 0 {
		v.errorf(p+".replicas", "only the Kubernetes fault %s takes replicas; %s does not",
			strings.Join(faultKindNames(func(k FaultKind) bool { return k.Kubernetes && k.Replicas }), " and "), f.Toxic)
	}
	if k.NoLift && (s.given(p+".for") || f.For != 0) {
		v.errorf(p+".for", "%s takes no for: there is nothing to lift when it ends (the pods' controller replaces them at once); leave it out", f.Toxic)
	}
}

// kubernetesWhat says what a Kubernetes fault of kind k names.
func kubernetesWhat(k FaultKind) string {
	roles := strings.Join(targets, ", ")
	var what string
	switch k.Target {
	case TargetInstance:
		what = "a role or one instance (one of " + roles + ", dyno[i])"
	case TargetRole:
		what = "a role (one of " + roles + ")"
	}
	switch {
	case k.Zone && what != "":
		return what + " as target, or a zone (one of " + strings.Join(enums["zone"], ", ") + ")"
	case k.Zone:
		return "a zone (one of " + strings.Join(enums["zone"], ", ") + ")"
	}
	return what + " as target"
}

// regionFault checks a fault on a whole region.
func (v *validator) regionFault(p string, f Fault) {
	switch {
	case !v.s.HasStandby():
		v.errorf(p+".region", "a region fault needs a standby region (system.regions.standby.mode: hot, warm or cold)")
	case f.Link != "" || f.Target != "":
		v.errorf(p+".region", "give region alone: it stands for the region's links (drop link and target)")
	default:
		v.enum(p+".region", f.Region, "region")
	}
}

func (v *validator) containerFault(p string, f Fault) {
	if f.Link != "" {
		v.errorf(p+".link", "%s is a container fault: name the container with target, not link", f.Toxic)
	}
	if f.Target == "" && f.Link == "" && f.Region == "" {
		v.errorf(p+".target", "required by container fault %s: the container (one of %s, dyno[i])", f.Toxic, strings.Join(targets, ", "))
	}
	if v.s.given(p + ".stream") {
		v.errorf(p+".stream", "does not apply to container fault %s", f.Toxic)
	}
	if len(f.Attributes) > 0 {
		v.errorf(p+".attributes", "container fault %s takes no attributes", f.Toxic)
	}
}

func (v *validator) linkFault(p string, f Fault, kind FaultKind) {
	if f.Target != "" {
		v.errorf(p+".target", "only container faults (%s) and Kubernetes faults (%s) name a target; toxic %s names a link",
			strings.Join(faultKindNames(isContainerKind), ", "),
			strings.Join(faultKindNames(func(k FaultKind) bool { return k.Kubernetes && k.Target != "" }), ", "), f.Toxic)
	}
	if f.Link == "" && f.Target == "" && f.Region == "" {
		v.errorf(p+".link", "required by toxic %s: the link it breaks (one of %s, router->dyno[i])", f.Toxic, strings.Join(links, ", "))
	}
	if f.Toxic == faultDown {
		if v.s.given(p + ".stream") {
			v.errorf(p+".stream", "does not apply to down (the link refuses connections both ways)")
		}
	} else {
		v.enum(p+".stream", f.Stream, "stream")
	}
	for _, name := range sortedKeys(f.Attributes) {
		key := p + ".attributes." + name
		a, ok := kind.Attr(name)
		switch {
		case len(kind.Attrs) == 0:
			v.errorf(key, "toxic %s takes no attributes", f.Toxic)
		case !ok:
			v.errorf(key, "unknown attribute for toxic %s%s", f.Toxic, suggest(name, attrNames(kind)))
		case f.Attributes[name] < 0:
			v.errorf(key, "must be 0 or more, got %v", formatAttr(a, f.Attributes[name]))
		}
	}
	for _, a := range kind.Attrs {
		_, has := f.Attributes[a.Name]
		if a.Required && !has && !v.s.given(p+".attributes."+a.Name) {
			v.errorf(p+".attributes."+a.Name, "required by toxic %s: %s", f.Toxic, a.Doc)
		}
	}
	if f.Toxic == "slicer" {
		if sv, avg := f.Attributes["size_variation"], f.Attributes["average_size"]; sv > 0 && sv >= avg {
			v.errorf(p+".attributes.size_variation", "must be smaller than average_size (%d)", avg)
		}
	}
}

// indexed checks a link or target name: one of names, or base[i] with i
// from 1 to dynos.
func (v *validator) indexed(key, name, base string, names []string, dynos int) {
	b, i := SplitIndex(name)
	if i == 0 {
		if !slices.Contains(names, name) {
			cands := append(append([]string(nil), names...), base+"[i]")
			v.errorf(key, "unknown %s %q%s", kindOf(key), name, suggest(name, cands))
		}
		return
	}
	switch {
	case b != base:
		v.errorf(key, "unknown %s %q: only %s takes an index (%s[1] … %s[%d])", kindOf(key), name, base, base, base, dynos)
	case i < 0:
		v.errorf(key, "bad dyno index in %q: want %s[i] with i from 1 to %d", name, base, dynos)
	case i > dynos:
		v.errorf(key, "dyno index %d out of range: system.dynos.count is %d (dynos are numbered from 1)", i, dynos)
	}
}

func kindOf(key string) string {
	if strings.HasSuffix(key, ".target") {
		return "target"
	}
	return "link"
}

func (v *validator) expectations() {
	for i, e := range v.s.Expect {
		p := fmt.Sprintf("expect[%d]", i)
		switch {
		case e.err != nil:
			v.errs = append(v.errs, e.err)
		case e.Key == "": // built in code from Expr alone
			if pe := expectationAt(e.Expr, v.s.near(p), p, false).err; pe != nil {
				v.errs = append(v.errs, pe)
			}
		default:
			if _, ok := resultKeys[e.Key]; !ok {
				v.errorf(p, "unknown result key %q%s", e.Key, suggest(e.Key, ResultKeys()))
			}
			if !slices.Contains(ops, e.Op) {
				v.errorf(p, "unknown operator %q (one of %s)", e.Op, strings.Join(ops, " "))
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// regions checks the standby region, the gslb and the drill.
func (v *validator) regions() {
	s := v.s
	sb := s.System.Regions.Standby
	v.enum("system.regions.standby.mode", sb.Mode, "standby_mode")
	has := s.HasStandby()
	if !has {
		for _, k := range []string{"system.regions.standby.dynos", "system.regions.standby.provision", "system.regions.standby.promote",
			"system.regions.standby.replication_lag", "system.regions.standby.backup_interval", "system.gslb", "system.regions.cost"} {
			if s.given(k) {
				v.errorf(k, "only applies with a standby region (system.regions.standby.mode: hot, warm or cold)")
				break
			}
		}
		if s.given("drill") {
			v.errorf("drill", "a drill needs a standby region (system.regions.standby.mode: hot, warm or cold)")
		}
		return
	}
	v.atLeast("system.regions.standby.dynos", sb.Dynos, 0)
	for _, k := range []struct {
		key string
		d   time.Duration
	}{{"provision", sb.Provision}, {"promote", sb.Promote}, {"replication_lag", sb.ReplicationLag}} {
		if k.d < 0 {
			v.errorf("system.regions.standby."+k.key, "must be 0 or more, got %s", FormatDuration(k.d))
		}
	}
	if sb.Mode == "cold" {
		v.positive("system.regions.standby.backup_interval", sb.BackupInterval)
	} else if s.given("system.regions.standby.backup_interval") {
		v.errorf("system.regions.standby.backup_interval", "only applies to mode: cold (mode is %s): a %s standby's db follows the primary", sb.Mode, sb.Mode)
	}
	c := s.System.Regions.Cost
	for _, k := range []struct {
		key string
		v   int64
	}{{"dyno_hour", c.DynoHour}, {"control_plane_hour", c.ControlPlaneHour}, {"db_hour", c.DBHour}} {
		if k.v < 0 {
			v.errorf("system.regions.cost."+k.key, "must be 0 or more, got %s", FormatMoney(k.v))
		}
	}
	g := s.System.GSLB
	v.enum("system.gslb.mode", g.Mode, "gslb_mode")
	v.positive("system.gslb.interval", g.Interval)
	v.atLeast("system.gslb.failures", g.Failures, 1)
	if g.TTL < 0 {
		v.errorf("system.gslb.ttl", "must be 0 or more, got %s", FormatDuration(g.TTL))
	}
	v.drill()
}

// drill checks the runbook: every step does a known thing, starts one
// way, names steps that exist, and no step waits on itself.
func (v *validator) drill() {
	d := v.s.Drill
	if d.Objectives.RTO < 0 {
		v.errorf("drill.objectives.rto", "must be 0 or more, got %s", FormatDuration(d.Objectives.RTO))
	}
	if d.Objectives.RPO < 0 {
		v.errorf("drill.objectives.rpo", "must be 0 or more, got %s", FormatDuration(d.Objectives.RPO))
	}
	names := map[string]int{}
	for i, st := range d.Steps {
		p := fmt.Sprintf("drill.steps[%d]", i)
		if strings.TrimSpace(st.Name) == "" {
			v.errorf(p+".name", "required: the step's name")
		} else if j, dup := names[st.Name]; dup {
			v.errorf(p+".name", "duplicate step name %q (also drill.steps[%d])", st.Name, j)
		} else {
			names[st.Name] = i
		}
		if st.Do == "" {
			v.errorf(p+".do", "required: what the step does (one of %s)", strings.Join(enums["drill_action"], ", "))
		} else {
			v.enum(p+".do", st.Do, "drill_action")
		}
		starts := 0
		if v.s.given(p + ".at") {
			starts++
		}
		if st.After != "" {
			starts++
		}
		if st.When != "" {
			starts++
			v.enum(p+".when", st.When, "drill_condition")
		}
		if starts != 1 {
			v.errorf(p, "give exactly one of at, after and when (when the step starts), got %d", starts)
		}
		if st.At < 0 {
			v.errorf(p+".at", "must be 0 or more, got %s", FormatDuration(st.At))
		} else if v.s.Duration > 0 && st.At >= v.s.Duration {
			v.errorf(p+".at", "the step starts at %s, after the end of the run (duration %s)", FormatDuration(st.At), FormatDuration(v.s.Duration))
		}
		if st.Takes < 0 {
			v.errorf(p+".takes", "must be 0 or more, got %s", FormatDuration(st.Takes))
		}
	}
	for i, st := range d.Steps {
		if st.After == "" {
			continue
		}
		p := fmt.Sprintf("drill.steps[%d].after", i)
		if _, ok := names[st.After]; !ok {
			var all []string
			for _, s := range d.Steps {
				all = append(all, s.Name)
			}
			v.errorf(p, "no step named %q%s", st.After, suggest(st.After, all))
			continue
		}
		// Follow the chain: a cycle never starts.
		seen := map[string]bool{st.Name: true}
		for cur := st.After; cur != ""; {
			if seen[cur] {
				v.errorf(p, "step %q waits on itself through after (%s)", st.Name, cur)
				break
			}
			seen[cur] = true
			j, ok := names[cur]
			if !ok {
				break
			}
			cur = d.Steps[j].After
		}
	}
}

// redundancy checks the dynos' redundancy settings: zones, spread,
// limits, probes and disruption budget.
func (v *validator) redundancy() {
	s := v.s
	d := s.System.Dynos
	const key = "system.dynos."
	if s.given(key+"zones") || d.Zones != 0 {
		if d.Zones < 1 || d.Zones > maxZones {
			v.errorf(key+"zones", "must be from 1 to %d (the local cluster's zones %s), got %d", maxZones, strings.Join(enums["zone"], ", "), d.Zones)
		}
	}
	v.enum(key+"spread", d.Spread, "spread")
	if d.Spread != "" && d.Spread != "none" && slices.Contains(enums["spread"], d.Spread) {
		switch {
		case d.Zones == 0:
			v.errorf(key+"spread", "%s spreads the dynos over zones: it needs system.dynos.zones of 2 or more (not set)", d.Spread)
		case d.Zones < 2:
			v.errorf(key+"spread", "%s spreads the dynos over zones: it needs system.dynos.zones of 2 or more, got %d", d.Spread, d.Zones)
		case d.Spread == "anti-affinity" && d.Count > d.Zones && d.Zones <= maxZones:
			v.errorf(key+"spread", "anti-affinity places at most one dyno a zone: %d dynos (system.dynos.count) do not fit in %d zones (use spread: zone)", d.Count, d.Zones)
		}
	}
	for _, q := range []struct {
		key, value string
		check      func(string) error
	}{{"limits.cpu", d.Limits.CPU, checkCPU}, {"limits.memory", d.Limits.Memory, checkMemory}} {
		switch {
		case q.value != "":
			if err := q.check(q.value); err != nil {
				v.errorf(key+q.key, "%v", err)
			}
		case s.given(key + q.key):
			v.errorf(key+q.key, "must not be empty (leave it out for no limit)")
		}
	}
	for _, pr := range []struct {
		key string
		p   Probe
	}{{"probes.readiness", d.Probes.Readiness}, {"probes.liveness", d.Probes.Liveness}} {
		k := key + pr.key
		if !s.given(k) && pr.p == (Probe{}) {
			continue
		}
		switch {
		case !s.given(k+".period") && pr.p.Period == 0:
			v.errorf(k+".period", "required by a probe: the time between two probes (e.g. period: 2s)")
		case pr.p.Period <= 0:
			v.errorf(k+".period", "must be greater than 0, got %s", FormatDuration(pr.p.Period))
		}
		switch {
		case !s.given(k+".failures") && pr.p.Failures == 0:
			v.errorf(k+".failures", "required by a probe: the failures in a row that fail it (e.g. failures: 3)")
		default:
			v.atLeast(k+".failures", pr.p.Failures, 1)
		}
	}
	mk := key + "disruption_budget.min_available"
	switch m := d.DisruptionBudget.MinAvailable; {
	case m != "":
		if err := checkMinAvailable(m, d.Count); err != nil {
			v.errorf(mk, "%v", err)
		}
	case s.given(mk):
		v.errorf(mk, "must not be empty (leave it out for no disruption budget)")
	}
}

// HasRedundancy says whether the scenario asks for any of the dynos'
// redundancy settings (zones, spread, limits, probes, disruption
// budget), which only the kubernetes runtime realises.
func (s *Scenario) HasRedundancy() bool { return len(s.RedundancyKeys()) > 0 }

// RedundancyKeys lists, in the order of the format, the key paths of the
// dynos' redundancy settings the scenario asks for (a value other than
// the default, none): "system.dynos.zones", "system.dynos.limits.cpu",
// "system.dynos.probes.readiness"... A runtime that cannot honour them
// refuses the scenario naming each.
func (s *Scenario) RedundancyKeys() []string {
	d := s.System.Dynos
	const key = "system.dynos."
	var out []string
	add := func(k string, asks bool) {
		if asks {
			out = append(out, key+k)
		}
	}
	add("zones", d.Zones != 0)
	add("spread", d.Spread != "" && d.Spread != "none")
	add("limits.cpu", d.Limits.CPU != "")
	add("limits.memory", d.Limits.Memory != "")
	add("probes.readiness", d.Probes.Readiness != Probe{})
	add("probes.liveness", d.Probes.Liveness != Probe{})
	add("disruption_budget.min_available", d.DisruptionBudget.MinAvailable != "")
	return out
}

// HasStandby says whether the system has a standby region.
func (s *Scenario) HasStandby() bool {
	m := s.System.Regions.Standby.Mode
	return m != "" && m != "none"
}
