package harness

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"time"

	"paydrill/harness/checker"
	"paydrill/harness/drill"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/sim/wire"
)

// HasStandby says whether the plan's system has a standby region.
func (p *Plan) HasStandby() bool { return p.Standby.Mode != "" && p.Standby.Mode != "none" }

// wall converts a model duration of the plan to wall time.
func (p *Plan) wall(d time.Duration) time.Duration { return time.Duration(float64(d) / p.Speed) }

// startDrill starts the plan's drill (and a cold standby's backups) on
// sys, from the load's start; nil without a standby region.
func startDrill(ctx context.Context, p *Plan, sys *system.System, dir string, began time.Time) *drill.Runner {
	if !p.HasStandby() {
		return nil
	}
	sb := p.Regions.Standby
	cfg := drill.Config{
		Mode: sb.Mode, Provision: p.wall(sb.Provision), Promote: p.wall(sb.Promote), Speed: p.Speed,
		ExportsDir: filepath.Join(dir, checker.ExportsDir),
	}
	if sb.Mode == "cold" {
		cfg.BackupEvery, cfg.BackupPath = p.BackupEvery, filepath.Join(sys.Stores, BackupFile)
		cfg.PrimaryCut = func() bool { return sys.Links != nil && sys.Links.Cut(topology.LinkRegionPrimary) }
	}
	for _, s := range p.Drill.Steps {
		cfg.Steps = append(cfg.Steps, drill.Step{Name: s.Name, Do: s.Do, HasAt: s.After == "" && s.When == "",
			At: p.wall(s.At), After: s.After, When: s.When, Takes: p.wall(s.Takes)})
	}
	r := drill.New(cfg, sys)
	r.Start(ctx, began)
	return r
}

// activeDB is the name of the active region's db: the store orders are
// written to now (the primary's without a standby, or when the gslb
// cannot say).
func activeDB(ctx context.Context, client *http.Client, sys *system.System) string {
	if sys.URL(topology.RoleGSLB) == "" {
		return topology.RoleDB
	}
	if activeRegion(ctx, client, sys) == topology.RegionStandby && sys.URL(standbyDB) != "" {
		return standbyDB
	}
	return topology.RoleDB
}

var standbyDB = topology.InRegion(topology.RegionStandby, topology.RoleDB)

// activeRegion is the region the gslb sends orders to.
func activeRegion(ctx context.Context, client *http.Client, sys *system.System) string {
	var st wire.GSLBState
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sys.URL(topology.RoleGSLB)+wire.PathGSLBState, nil)
	if err != nil {
		return topology.RegionPrimary
	}
	resp, err := client.Do(req)
	if err != nil {
		return topology.RegionPrimary
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil || st.Active == "" {
		return topology.RegionPrimary
	}
	return st.Active
}

// regionEvidence is what the checker needs of a run with a standby
// region: the drill's report, the region active at the end, the cost.
func regionEvidence(p *Plan, rep drill.Report, active string) *checker.RegionEvidence {
	c := p.Regions.Cost
	re := &checker.RegionEvidence{
		Mode: p.Standby.Mode, Active: active, PromotedAt: rep.PromotedAt, LagAtPromotion: rep.LagAtPromotion,
		Startup:          rep.Startup,
		MonthlyCostCents: checker.StandbyMonthlyCostCents(p.Standby.Mode, p.StandbyDynos, c.DynoHour, c.ControlPlaneHour, c.DBHour),
		Drill:            len(p.Drill.Steps) > 0 || p.Drill.Objectives.RTO > 0 || p.Drill.Objectives.RPO > 0,
		Steps:            rep.Steps, Events: rep.Events,
		ObjectiveRTO: p.Drill.Objectives.RTO, ObjectiveRPO: p.Drill.Objectives.RPO,
	}
	if re.Steps == nil {
		re.Steps = []checker.StepRecord{}
	}
	if re.Events == nil {
		re.Events = []checker.EventRecord{}
	}
	return re
}
