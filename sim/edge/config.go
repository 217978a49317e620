package edge

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/roles"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// Config is the edge router in front of production and capture.
type Config struct {
	// Production is the base URL every request goes to first (the router,
	// or the active region).
	Production string `json:"production"`
	// Capture is the base URL of the capture service requests fail over to.
	Capture string `json:"capture"`
	// FailoverTimeout is how long production has to answer before the
	// request is sent to capture.
	FailoverTimeout wire.Duration `json:"failover_timeout"`
	// CaptureTimeout bounds the request to capture.
	CaptureTimeout wire.Duration `json:"capture_timeout"`
	// Seed seeds the request ids the edge assigns.
	Seed int64 `json:"seed"`
}

var _ roles.Config = (*Config)(nil)

// DefaultConfig is the original design's edge: fail over after 15 s,
// give capture 30 s.
func DefaultConfig() Config {
	return Config{
		FailoverTimeout: wire.Duration(15 * time.Second),
		CaptureTimeout:  wire.Duration(30 * time.Second),
	}
}

// Flags binds one flag per setting to c; the flags' defaults are c's
// current values.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Production, "production", c.Production,
		"base URL of production (the router, or the active region), where every request goes first, "+
			"e.g. http://127.0.0.1:8080; changed at run time with PUT /admin/production")
	fs.StringVar(&c.Capture, "capture", c.Capture,
		"base URL of the capture service that takes the identical request (same body, headers and "+
			"X-Request-Id) when production fails, e.g. http://127.0.0.1:8090")
	fs.DurationVar((*time.Duration)(&c.FailoverTimeout), "failover-timeout", c.FailoverTimeout.D(),
		"how long production has to answer before the edge gives up on it and sends the request to capture "+
			"(a 5xx or a refused connection fails over at once)")
	fs.DurationVar((*time.Duration)(&c.CaptureTimeout), "capture-timeout", c.CaptureTimeout.D(),
		"how long capture has to answer a failed-over request before the edge answers 502")
	fs.Int64Var(&c.Seed, "seed", c.Seed,
		"seed of the X-Request-Id values the edge assigns to requests that arrive without one")
}

// Validate reports every setting that is wrong, naming each by its flag.
func (c Config) Validate() error {
	var errs []error
	if err := service.CheckURL(c.Production); err != nil {
		errs = append(errs, fmt.Errorf("--production: %w", err))
	}
	if err := service.CheckURL(c.Capture); err != nil {
		errs = append(errs, fmt.Errorf("--capture: %w", err))
	}
	if c.FailoverTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--failover-timeout: must be greater than 0, got %s", c.FailoverTimeout.D()))
	}
	if c.CaptureTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--capture-timeout: must be greater than 0, got %s", c.CaptureTimeout.D()))
	}
	return errors.Join(errs...)
}

// Build returns the edge c describes.
func (c *Config) Build() (http.Handler, error) { return New(*c) }
