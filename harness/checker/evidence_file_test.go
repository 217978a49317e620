package checker

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"paydrill/harness/exit"
	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/wire"
)

// savedRunDir writes a run's directory as Run and RunScenario leave it
// (orders, exports, then SaveEvidence) for evidence ev judged against s,
// and returns the directory and the result the run reported.
func savedRunDir(t *testing.T, s *scenarios.Scenario, ev Evidence) (string, *result.Result) {
	t.Helper()
	dir := t.TempDir()
	// The exports are written as served; the checker gets the ledger in
	// time order, as collect sorts it.
	served := ev.Ledger
	ev.Ledger = append([]wire.Charge(nil), served...)
	sort.Slice(ev.Ledger, func(i, j int) bool { return ev.Ledger[i].CreatedAt.Before(ev.Ledger[j].CreatedAt) })
	r := Check(ev)
	r.Scenario, r.Runtime, r.Seed, r.Speed, r.ModelDurationS = s.Name, "embedded", s.Seed, ev.Speed, 60
	r.OutDir = dir
	r.Harness = result.HarnessHealth{AskedRate: 5, AchievedRate: 4.99, TimerLagMS: 1.5, WallS: 3.25, Settled: true,
		Notes: []string{"a note"}, ProxiedLinks: []string{"edge->router"}}
	Judge(&r, &ev, s.Expect)

	if err := os.MkdirAll(filepath.Join(dir, ExportsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	export := func(role string) string { return filepath.Join(dir, ExportsDir, role+".ndjson") }
	write("orders", WriteNDJSON(filepath.Join(dir, OrdersFile), ev.Orders))
	write("gateway", WriteNDJSON(export("gateway"), served))
	write("db", WriteNDJSON(export("db"), ev.DB))
	write("capture", WriteNDJSON(export("capture"), ev.Captured))
	write("edge", WriteNDJSON(export("edge"), ev.Edge))
	write("replayer", WriteNDJSON(export("replayer"), ev.Replays))
	write("reconciler", WriteNDJSON(export("reconciler"), ev.Reconciles))
	for i := 1; i <= s.System.Dynos.Count; i++ {
		var recs []wire.DynoRecord
		for _, d := range ev.Dynos {
			if d.Dyno == topology.DynoName(i) {
				recs = append(recs, d)
			}
		}
		write("dyno", WriteNDJSON(export(strings.NewReplacer("[", "-", "]", "").Replace(topology.DynoName(i))), recs))
	}
	write("evidence", SaveEvidence(dir, s, &r, &ev, Allow{}))
	return dir, &r
}

// anomalousEvidence is a run of four orders at speed 10 with a fault:
// one double charge, one phantom charge, one lost during the fault (RPO),
// one healthy; charges timed from the load's start and served out of time
// order.
func anomalousEvidence(t *testing.T) (*scenarios.Scenario, Evidence) {
	t.Helper()
	s, err := scenarios.Parse("saved.yaml", []byte(`name: saved
seed: 3
speed: 10
duration: 1m
system: {dynos: {count: 2}}
faults:
  - {name: cut, at: 10s, for: 20s, link: edge->router, toxic: down}
expect:
  - double_charges == 0
  - during fault 1: failover_rate > 50%
  - after recovery: success_rate == 100%
`))
	if err != nil {
		t.Fatal(err)
	}
	began := time.Date(2026, 11, 22, 10, 15, 0, 123456789, time.FixedZone("CET", 3600))
	a, b, c, d := order(0), order(1), order(2), order(3)
	at := func(dt time.Duration) time.Time { return began.Add(dt).UTC() }
	ev := Evidence{
		Orders: []load.SentOrder{a, b, c, d},
		Outcomes: []load.Outcome{
			told(a, 201, "capture", 1500*time.Millisecond),
			told(b, 402, "production", 200*time.Millisecond),
			told(c, 201, "capture", 2*time.Second),
			told(d, 201, "production", 4*time.Second),
		},
		Edge: []wire.EdgeRecord{{RequestID: a.RequestID, AnsweredBy: "capture"}, {RequestID: c.RequestID, AnsweredBy: "capture"}},
		Ledger: []wire.Charge{
			func() wire.Charge { ch := charge("ch_2", a); ch.CreatedAt = at(3 * time.Second); return ch }(),
			func() wire.Charge { ch := charge("ch_1", a); ch.CreatedAt = at(1600 * time.Millisecond); return ch }(),
			func() wire.Charge { ch := charge("ch_3", b); ch.CreatedAt = at(300 * time.Millisecond); return ch }(),
			func() wire.Charge { ch := charge("ch_4", d); ch.CreatedAt = at(4100 * time.Millisecond); return ch }(),
		},
		DB:       []wire.OrderRecord{held(a, "ch_1", "charged"), held(b, "", "failed"), held(d, "ch_4", "charged")},
		Captured: []wire.CapturedRequest{{RequestID: a.RequestID}},
		Dynos: []wire.DynoRecord{
			{RequestID: a.RequestID, Dyno: "dyno[1]", Queued: 3 * time.Millisecond},
			{RequestID: b.RequestID, Dyno: "dyno[2]", Queued: 7 * time.Millisecond},
			{RequestID: d.RequestID, Dyno: "dyno[2]", Outcome: "refused"},
		},
		Replays: []wire.ReplayRecord{{RequestID: a.RequestID, Attempt: 1, Outcome: "charged", At: at(3 * time.Second)}},
		Faults: []fault.Window{{
			Fault: fault.Plan{Index: 1, Name: "cut", Link: "edge->router", Toxic: "down", At: time.Second, For: 2 * time.Second},
			Start: time.Second + 2*time.Millisecond, End: 3*time.Second + time.Millisecond, Lateness: 2 * time.Millisecond,
		}},
		Began: began, LoadWall: 6 * time.Second, Speed: 10, RTOWindow: 10 * time.Second,
	}
	return s, ev
}

// TestCheckSavedRunGivesTheRunsResult: the result checked again from the
// directory is the run's, key for key, windows and anomalies' charge times
// included.
func TestCheckSavedRunGivesTheRunsResult(t *testing.T) {
	s, ev := anomalousEvidence(t)
	dir, want := savedRunDir(t, s, ev)
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := run.Check(run.Expect, run.Allow)
	if want.DoubleCharges != 1 || want.PhantomCharges != 1 || want.LostOrders != 1 || want.RPOOrders != 1 || len(want.Outages) != 1 {
		t.Fatalf("the evidence is not what this test means: %+v", want)
	}
	if a, b := asJSON(t, want), asJSON(t, got); a != b {
		t.Fatalf("checked again:\n%s\nthe run said:\n%s", b, a)
	}
	if len(run.Evidence.Faults) != 1 || run.Evidence.Faults[0].Lateness != 2*time.Millisecond || run.Evidence.Faults[0].Fault.For != 2*time.Second {
		t.Fatalf("fault windows: %+v", run.Evidence.Faults)
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCheckLoadRunNamesWhatIsMissing: a directory that is not a saved run,
// or lacks one of its files, is bad input (exit 2) naming the file.
func TestCheckLoadRunNamesWhatIsMissing(t *testing.T) {
	s, ev := anomalousEvidence(t)
	tests := []struct {
		name  string
		spoil func(dir string) string // returns the directory to load
		want  string
	}{
		{"no directory", func(dir string) string { return filepath.Join(dir, "nope") }, "nope"},
		{"a file", func(dir string) string { return filepath.Join(dir, EvidenceFile) }, "is not a directory"},
		{"no evidence.json", func(dir string) string { os.Remove(filepath.Join(dir, EvidenceFile)); return dir }, EvidenceFile + " is missing"},
		{"no outcomes", func(dir string) string { os.Remove(filepath.Join(dir, OutcomesFile)); return dir }, OutcomesFile + " is missing"},
		{"no ledger", func(dir string) string { os.Remove(filepath.Join(dir, ExportsDir, "gateway.ndjson")); return dir }, "gateway.ndjson is missing"},
		{"no dyno 2", func(dir string) string { os.Remove(filepath.Join(dir, ExportsDir, "dyno-2.ndjson")); return dir }, "dyno-2.ndjson is missing"},
		{"bad line", func(dir string) string {
			os.WriteFile(filepath.Join(dir, OrdersFile), []byte("{\"index\": 0}\nnot json\n"), 0o644)
			return dir
		}, OrdersFile + ":"},
		{"newer format", func(dir string) string {
			rewriteEvidence(t, dir, func(m map[string]any) { m["format"] = 99 })
			return dir
		}, "format 99"},
		{"bad expectation", func(dir string) string {
			rewriteEvidence(t, dir, func(m map[string]any) { m["expect"] = []string{"double_charges ~ 1"} })
			return dir
		}, "expect[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := savedRunDir(t, s, ev)
			_, err := LoadRun(tc.spoil(dir))
			if err == nil || exit.Code(err) != exit.CodeBadInput || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (exit %d); want exit 2 saying %q", err, exit.Code(err), tc.want)
			}
		})
	}
}

func rewriteEvidence(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, EvidenceFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
