package checker

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"paydrill/harness/exit"
	"paydrill/harness/fault"
	"paydrill/harness/result"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// The files of a run's directory that hold its evidence. The load writes
// OrdersFile and collect writes ExportsDir while the run goes on;
// SaveEvidence adds the rest once the run is judged. LoadRun reads them
// all back, so that `paydrill check` can run today's checker on an old
// run.
const (
	EvidenceFile = "evidence.json"   // the run's facts beside the stores (savedEvidence)
	OutcomesFile = "outcomes.ndjson" // what the client saw of each order, as the checker reads it (load.Outcome)
	OrdersFile   = "orders.ndjson"   // every order sent (load.SentOrder)
	ScenarioFile = "scenario.yaml"   // the scenario as run (overrides and the speed chosen applied), for a person
	ExportsDir   = "exports"         // every component's /admin/export
)

// EvidenceFormat is the layout of evidence.json; LoadRun refuses others.
const EvidenceFormat = 1

// savedEvidence is evidence.json: what the checker needs beside the
// orders, the outcomes and the stores' exports. Times are wall clock, in
// nanoseconds, as the checker's Evidence holds them (speed converts them
// to model time), so that a run checked again gives exactly its figures.
type savedEvidence struct {
	Format         int     `json:"format"`
	Scenario       string  `json:"scenario"`
	Runtime        string  `json:"runtime"`
	Seed           int64   `json:"seed"`
	Speed          float64 `json:"speed"`
	ModelDurationS float64 `json:"model_duration_s"`
	// Dynos is how many dyno exports there are (exports/dyno-1.ndjson…).
	Dynos int `json:"dynos"`
	// Began is the load's start (wall clock): charges' times are measured
	// from it.
	Began       time.Time     `json:"began"`
	LoadWallNS  time.Duration `json:"load_wall_ns"`
	RTOWindowNS time.Duration `json:"rto_window_ns"` // model time
	// Expect is the scenario's expectations as written.
	Expect []string `json:"expect"`
	// Faults are the fault windows as the harness applied them (late,
	// cut short by an abort, or failed), not as scheduled.
	Faults []savedFault `json:"faults"`
	// Harness is what the harness measured of itself while the run went
	// on (rates, timer lateness, saturation, wall time, notes): none of it
	// can be recomputed from the evidence, so it is kept as reported.
	Harness result.HarnessHealth `json:"harness"`
	// Allow is what the run accepted of untrustworthy figures (see
	// Trust): a run checked again is judged as it was.
	Allow Allow `json:"allow"`
	// Regions is a system with a standby region's evidence beside its
	// exports (the drill's steps and events, the promotion), and
	// StandbyDynos how many standby dyno exports there are; absent
	// without one.
	Regions      *RegionEvidence `json:"regions,omitempty"`
	StandbyDynos int             `json:"standby_dynos,omitempty"`
}

// savedFault is one FaultWindow, wall offsets from the load's start in ns.
type savedFault struct {
	Fault      int              `json:"fault"`
	Name       string           `json:"name,omitempty"`
	Link       string           `json:"link"`
	Toxic      string           `json:"toxic"`
	Stream     string           `json:"stream,omitempty"`
	AtNS       time.Duration    `json:"at_ns"`
	ForNS      time.Duration    `json:"for_ns"`
	Attributes map[string]int64 `json:"attributes,omitempty"`
	StartNS    time.Duration    `json:"start_ns"`
	EndNS      time.Duration    `json:"end_ns"`
	LatenessNS time.Duration    `json:"lateness_ns"`
	Error      string           `json:"error,omitempty"`
}

// SaveEvidence writes what a run's directory lacks for the checker to run
// again on it: evidence.json, outcomes.ndjson and scenario.yaml (the
// orders and the exports are already there). r is the judged result, ev
// what the checker was given, s the scenario as run.
func SaveEvidence(dir string, s *scenarios.Scenario, r *result.Result, ev *Evidence, allow Allow) error {
	se := savedEvidence{
		Format: EvidenceFormat, Scenario: r.Scenario, Runtime: r.Runtime, Seed: r.Seed, Speed: r.Speed,
		ModelDurationS: r.ModelDurationS, Dynos: s.System.Dynos.Count,
		Began: ev.Began, LoadWallNS: ev.LoadWall, RTOWindowNS: ev.RTOWindow,
		Expect: []string{}, Faults: []savedFault{}, Harness: r.Harness, Allow: allow,
		Regions: ev.Regions, StandbyDynos: ev.StandbyDynos,
	}
	for _, e := range s.Expect {
		se.Expect = append(se.Expect, e.String())
	}
	for _, f := range ev.Faults {
		se.Faults = append(se.Faults, savedFault{
			Fault: f.Fault.Index, Name: f.Fault.Name, Link: f.Fault.Link, Toxic: f.Fault.Toxic, Stream: f.Fault.Stream,
			AtNS: f.Fault.At, ForNS: f.Fault.For, Attributes: f.Fault.Attributes,
			StartNS: f.Start, EndNS: f.End, LatenessNS: f.Lateness, Error: f.Err,
		})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "edge->router", "double_charges > 0": kept readable
	if err := enc.Encode(se); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, EvidenceFile), b.Bytes(), 0o644); err != nil {
		return err
	}
	if err := WriteNDJSON(filepath.Join(dir, OutcomesFile), ev.Outcomes); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ScenarioFile), s.YAML(), 0o644)
}

// WriteNDJSON writes records to path, one JSON a line, atomically (a
// reader sees the old file or the new one, whole), creating its directory.
func WriteNDJSON[T any](path string, xs []T) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, x := range xs {
		if err := enc.Encode(x); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// SavedRun is a finished run read back from its directory: the evidence
// the checker was given and the run's facts beside it.
type SavedRun struct {
	Dir            string
	Evidence       Evidence
	Scenario       string
	Runtime        string
	Seed           int64
	ModelDurationS float64
	// Expect is the scenario's expectations, parsed again by today's
	// expectation language.
	Expect  []scenarios.Expectation
	Harness result.HarnessHealth
	// Allow is what the run accepted (see Trust).
	Allow Allow
}

// LoadRun reads a run's evidence back from its directory. Every problem
// is bad input naming the file: DIR missing, not a run's directory (no
// evidence.json: also a run saved before paydrill kept one), a file
// missing or not what it should be.
func LoadRun(dir string) (*SavedRun, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, exit.BadInput(err)
	} else if !fi.IsDir() {
		return nil, exit.BadInput(fmt.Errorf("%s is not a directory (want a run's directory, as --out names it)", dir))
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	b, err := os.ReadFile(path(EvidenceFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, exit.BadInput(fmt.Errorf("%s is not a run's directory that can be checked again: %s is missing "+
			"(paydrill run writes it beside report.json; runs saved before it did cannot be checked)", dir, path(EvidenceFile)))
	}
	if err != nil {
		return nil, exit.BadInput(err)
	}
	var se savedEvidence
	if err := json.Unmarshal(b, &se); err != nil {
		return nil, exit.BadInput(fmt.Errorf("%s: %w", path(EvidenceFile), err))
	}
	switch {
	case se.Format != EvidenceFormat:
		return nil, exit.BadInput(fmt.Errorf("%s: format %d; this paydrill reads format %d", path(EvidenceFile), se.Format, EvidenceFormat))
	case se.Speed <= 0:
		return nil, exit.BadInput(fmt.Errorf("%s: speed %g: must be greater than 0", path(EvidenceFile), se.Speed))
	case se.Dynos < 1:
		return nil, exit.BadInput(fmt.Errorf("%s: dynos %d: a run has at least one dyno", path(EvidenceFile), se.Dynos))
	}

	run := &SavedRun{
		Dir: dir, Scenario: se.Scenario, Runtime: se.Runtime, Seed: se.Seed,
		ModelDurationS: se.ModelDurationS, Harness: se.Harness, Allow: se.Allow,
	}
	for i, expr := range se.Expect {
		e, err := scenarios.ParseExpectation(expr)
		if err != nil {
			return nil, exit.BadInput(fmt.Errorf("%s: expect[%d] %q: %w", path(EvidenceFile), i, expr, err))
		}
		run.Expect = append(run.Expect, e)
	}
	ev := &run.Evidence
	ev.Began, ev.LoadWall, ev.Speed, ev.RTOWindow = se.Began, se.LoadWallNS, se.Speed, se.RTOWindowNS
	for _, f := range se.Faults {
		ev.Faults = append(ev.Faults, fault.Window{
			Fault: fault.Plan{
				Index: f.Fault, Name: f.Name, Link: f.Link, Toxic: f.Toxic, Stream: f.Stream,
				At: f.AtNS, For: f.ForNS, Attributes: f.Attributes,
			},
			Start: f.StartNS, End: f.EndNS, Lateness: f.LatenessNS, Err: f.Error,
		})
	}

	var errs []error
	read := func(name string, into func(io.Reader) error) {
		f, err := os.Open(path(name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("%s is missing (every run's directory has it)", path(name))
			}
			errs = append(errs, err)
			return
		}
		defer f.Close()
		if err := into(f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path(name), err))
		}
	}
	read(OrdersFile, ndjson(&ev.Orders))
	read(OutcomesFile, ndjson(&ev.Outcomes))
	export := func(role string) string { return filepath.Join(ExportsDir, role+".ndjson") }
	read(export(topology.RoleGateway), ndjson(&ev.Ledger))
	var primaryDB, standbyDB, beforeFailback []wire.OrderRecord
	standbyExists := false
	read(export(topology.RoleDB), ndjson(&primaryDB))
	read(export(topology.RoleCapture), ndjson(&ev.Captured))
	read(export(topology.RoleEdge), ndjson(&ev.Edge))
	read(export(topology.RoleReplayer), ndjson(&ev.Replays))
	read(export(topology.RoleReconciler), ndjson(&ev.Reconciles))
	for i := 1; i <= se.Dynos; i++ {
		read(export(fmt.Sprintf("dyno-%d", i)), func(r io.Reader) error {
			recs, err := service.ReadNDJSON[wire.DynoRecord](r)
			ev.Dynos = append(ev.Dynos, recs...)
			return err
		})
	}
	ev.DB = primaryDB
	if se.Regions != nil {
		ev.Regions, ev.StandbyDynos = se.Regions, se.StandbyDynos
		// A cold standby never provisioned has no db, and no export.
		if name := export(RegionExport(topology.InRegion(topology.RegionStandby, topology.RoleDB))); exists(path(name)) {
			standbyExists = true
			read(name, ndjson(&standbyDB))
		}
		read(export(topology.RoleGSLB), ndjson(&ev.Regions.GSLB))
		if exists(path(export(BeforeFailbackExport))) {
			read(export(BeforeFailbackExport), ndjson(&beforeFailback))
		}
		for i := 1; i <= se.StandbyDynos; i++ {
			read(export(RegionExport(topology.InRegion(topology.RegionStandby, topology.DynoName(i)))), func(r io.Reader) error {
				recs, err := service.ReadNDJSON[wire.DynoRecord](r)
				ev.Dynos = append(ev.Dynos, recs...)
				return err
			})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, exit.BadInput(err)
	}
	ev.AssembleRegions(primaryDB, standbyDB, standbyExists, beforeFailback)
	// As collect orders it: the ledger export is kept as served.
	sort.Slice(ev.Ledger, func(i, j int) bool { return ev.Ledger[i].CreatedAt.Before(ev.Ledger[j].CreatedAt) })
	return run, nil
}

// BeforeFailbackExport is the export (in ExportsDir, without .ndjson) of
// the primary's db taken just before a failback re-synced it: the orders
// the old region held of its own.
const BeforeFailbackExport = "primary-before-failback"

// RegionExport is the export file name (without .ndjson) of a component:
// "dyno[2]" is "dyno-2", "standby.db" stays "standby.db".
func RegionExport(name string) string { return strings.NewReplacer("[", "-", "]", "").Replace(name) }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// AssembleRegions sets, in a system with a standby region, the final
// store (the active region's db; the primary's while the standby has
// none, a cold one never provisioned) and the old primary's orders (as
// they were before a failback, else at the end). Without one DB is the
// primary's.
func (ev *Evidence) AssembleRegions(primaryDB, standbyDB []wire.OrderRecord, standbyExists bool, beforeFailback []wire.OrderRecord) {
	ev.DB = primaryDB
	if ev.Regions == nil {
		return
	}
	if ev.Regions.Active == topology.RegionStandby && standbyExists {
		ev.DB = standbyDB
	}
	ev.Regions.OldPrimary = primaryDB
	if beforeFailback != nil {
		ev.Regions.OldPrimary = beforeFailback
	}
}

// ndjson decodes one record a line into dst.
func ndjson[T any](dst *[]T) func(io.Reader) error {
	return func(r io.Reader) (err error) {
		*dst, err = service.ReadNDJSON[T](r)
		return err
	}
}

// Check runs today's checker on the saved evidence, judges exps (the
// saved expectations, s.Expect, or others) and trusts the figures as
// allow says (the run's own, s.Allow, or more): the result `paydrill run`
// printed, figure for figure, when the checker, exps and allow are the
// same. Harness is the run's own, as it measured itself.
func (s *SavedRun) Check(exps []scenarios.Expectation, allow Allow) *result.Result {
	r := Check(s.Evidence)
	r.Scenario, r.Runtime, r.Seed, r.Speed = s.Scenario, s.Runtime, s.Seed, s.Evidence.Speed
	r.ModelDurationS = s.ModelDurationS
	r.OutDir = s.Dir
	r.Harness = s.Harness
	Judge(&r, &s.Evidence, exps)
	Trust(&r, allow)
	return &r
}
