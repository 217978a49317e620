package replayer

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/roles"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// Modes: when the replayer starts a pass on its own.
const (
	// ModeAuto starts a pass every interval while capture holds orders not
	// yet replayed and production is ready.
	ModeAuto = "auto"
	// ModeManual replays only when told (POST /replay), as the support
	// team did in the original design.
	ModeManual = "manual"
)

// Config is the replayer: it sends captured orders back to production.
type Config struct {
	// Capture is the capture service's base URL (its export is read).
	Capture string `json:"capture"`
	// Production is the base URL orders are replayed to (the router, not
	// the edge, so a replay never fails over to capture again).
	Production string `json:"production"`
	// Mode is ModeAuto or ModeManual.
	Mode string `json:"mode"`
	// Rate is the most orders replayed per second.
	Rate float64 `json:"rate"`
	// Interval is how often the replayer looks at capture to count the
	// orders pending and, in mode auto, to decide whether to replay.
	Interval wire.Duration `json:"interval"`
	// Timeout bounds one replayed request.
	Timeout wire.Duration `json:"timeout"`
	// Store is the path of the SQLite file that records every attempt.
	Store string `json:"store"`
}

var _ roles.Config = (*Config)(nil)

// DefaultConfig replays automatically, 20 orders a second, checking every
// second, into replayer.sqlite.
func DefaultConfig() Config {
	return Config{
		Mode:     ModeAuto,
		Rate:     20,
		Interval: wire.Duration(time.Second),
		Timeout:  wire.Duration(30 * time.Second),
		Store:    "replayer.sqlite",
	}
}

// Flags binds one flag per setting to c; the flags' defaults are c's
// current values.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Capture, "capture", c.Capture,
		"base URL of the capture service whose stored orders are replayed, e.g. http://127.0.0.1:8090")
	fs.StringVar(&c.Production, "production", c.Production,
		"base URL of production (the router) that captured orders are re-sent to, with their original X-Request-Id "+
			"so production can recognise orders it already holds, e.g. http://127.0.0.1:8080")
	fs.StringVar(&c.Mode, "mode", c.Mode,
		"when to replay: auto (every --interval, as soon as capture holds orders not yet replayed and production's "+
			"/readyz answers 200) or manual (only on POST /replay)")
	fs.Float64Var(&c.Rate, "rate", c.Rate,
		"most orders replayed per second, so a recovering production is not flooded")
	fs.DurationVar((*time.Duration)(&c.Interval), "interval", c.Interval.D(),
		"how often the replayer looks at capture to count the orders still to replay (shown at /admin/status) "+
			"and, in mode auto, checks production's /readyz to decide whether to start a replay pass")
	fs.DurationVar((*time.Duration)(&c.Timeout), "timeout", c.Timeout.D(),
		"how long one replayed order may take; no answer in time counts as an error, retried on the next pass")
	fs.StringVar(&c.Store, "store", c.Store,
		"path of the SQLite file recording every replay attempt (created if missing); "+
			"orders replayed successfully are never re-sent, even after a restart")
}

// Validate reports every setting that is wrong, naming each by its flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := service.CheckURL(c.Capture); err != nil {
		bad("--capture: %w", err)
	}
	if err := service.CheckURL(c.Production); err != nil {
		bad("--production: %w", err)
	}
	if c.Mode != ModeAuto && c.Mode != ModeManual {
		bad("--mode: must be auto or manual, got %q", c.Mode)
	}
	if !(c.Rate > 0) || math.IsInf(c.Rate, 0) {
		bad("--rate: must be greater than 0 orders per second, got %g", c.Rate)
	}
	if c.Interval <= 0 {
		bad("--interval: must be greater than 0, got %s", c.Interval.D())
	}
	if c.Timeout <= 0 {
		bad("--timeout: must be greater than 0, got %s", c.Timeout.D())
	}
	if c.Store == "" {
		bad("--store: must not be empty")
	}
	return errors.Join(errs...)
}

// Build returns the replayer c describes.
func (c *Config) Build() (http.Handler, error) { return New(*c) }
