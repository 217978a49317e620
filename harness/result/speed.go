package result

import "time"

// MachineCost is what one order costs this machine, measured on the
// fault-free pipeline (edge → router → dynos → gateway and db) with the
// links wired as the run wires them, at light load, so that measuring
// never disturbs another run going on meanwhile.
type MachineCost struct {
	// CPUPerOrderUS is the processor time one order took (the whole
	// pipeline and the load's client), µs, less what this process was
	// spending on other work just before.
	CPUPerOrderUS float64 `json:"cpu_per_order_us"`
	// FreeCPUs is how many of the machine's CPUs were idle while it was
	// measured (all of them on an idle machine).
	FreeCPUs float64 `json:"free_cpus"`
	// PipelineRate is the orders a second the free CPUs could take at
	// that cost: FreeCPUs / CPUPerOrder.
	PipelineRate float64 `json:"pipeline_orders_per_s"`
	// WorkP50US and WorkP90US are the real time of a dyno's calls for one
	// order (db claim, charge, db update) beyond the gateway's modelled
	// latency, at light load, wall µs.
	WorkP50US float64 `json:"work_p50_us"`
	WorkP90US float64 `json:"work_p90_us"`
	// TimerLagUS is the p99 lateness of a 10 ms ticker meanwhile, wall µs.
	TimerLagUS float64 `json:"timer_lag_us"`
	// WallS is how long measuring took.
	WallS float64 `json:"wall_s"`

	// Works are every light-load work time, sorted (not in the result).
	Works []time.Duration `json:"-"`
}

// SpeedChoice is what speed: auto chose and why (the result's
// harness.speed_auto).
type SpeedChoice struct {
	Speed float64 `json:"speed"`
	// LimitedBy names the bound the next speed up would break: "cpu",
	// "overrun", "timers", "runtime" (the runtime's own limit) or "ladder"
	// (the highest speed auto picks).
	LimitedBy string `json:"limited_by"`
	// CPUShare is the share of the free CPUs the run takes at
	// Speed; Overrun the expected share of the dynos' modelled busy time
	// their real work adds, and Amplification what the queue's
	// utilisation multiplies it by in the mean queue time.
	CPUShare      float64     `json:"cpu_share"`
	Overrun       float64     `json:"overrun"`
	Amplification float64     `json:"amplification"`
	Machine       MachineCost `json:"machine"`
	Why           string      `json:"why"`
}
