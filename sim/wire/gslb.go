package wire

import "time"

// The gslb's paths and header.
const (
	PathGSLBActive  = "/admin/active"   // gslb PUT: switch the active region (GSLBSwitch)
	PathGSLBRegions = "/admin/regions/" // gslb PUT /admin/regions/{name}: set a region's URL (GSLBRegion)
	PathGSLBState   = "/admin/state"    // gslb GET: GSLBState
	// HeaderRegion is set by the gslb on every answer it relays: the
	// region that answered.
	HeaderRegion = "X-Paydrill-Region"
)

// GSLBSwitch is the body of PUT /admin/active at the gslb.
type GSLBSwitch struct {
	Region string `json:"region"`
	Reason string `json:"reason,omitempty"`
}

// GSLBRegion is the body of PUT /admin/regions/{name} at the gslb.
type GSLBRegion struct {
	URL string `json:"url"`
}

// GSLBState is what the gslb reports at PathGSLBState.
type GSLBState struct {
	Active     string    `json:"active"`
	Previous   string    `json:"previous,omitempty"` // the region clients' cached answers still name, during the ttl
	SwitchedAt time.Time `json:"switched_at,omitzero"`
	Mode       string    `json:"mode"`
	// Unhealthy: the active region failed its last Failures checks.
	Unhealthy bool `json:"unhealthy"`
	// Failures is the active region's count of checks failed in a row.
	Failures int `json:"failures"`
	// Ready says, per region with a URL, whether its last check passed.
	Ready   map[string]bool   `json:"ready"`
	Regions map[string]string `json:"regions"` // name → base URL, "" until it exists
}

// GSLB event kinds.
const (
	GSLBUnhealthy = "unhealthy" // the active region failed Failures checks in a row
	GSLBHealthy   = "healthy"   // the active region passed a check again
	GSLBSwitched  = "switched"  // the active region changed
	GSLBRegionSet = "region"    // a region's URL was set
)

// GSLBEvent is one entry of the gslb's export.
type GSLBEvent struct {
	At     time.Time `json:"at"`
	What   string    `json:"what"`
	Region string    `json:"region"`
	From   string    `json:"from,omitempty"`
	Reason string    `json:"reason,omitempty"`
}
