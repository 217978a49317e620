package router

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/roles"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// Config is the routing layer in front of the dyno pool.
type Config struct {
	// Dynos are the dynos' base URLs; the pool may start empty and be set
	// later with PUT /admin/dynos.
	Dynos []string `json:"dynos"`
	// Strategy is one of Strategies(): random, round-robin, least-conn, p2c.
	Strategy string `json:"strategy"`
	// Timeout bounds one request to a dyno, answer included; past it, 503.
	Timeout wire.Duration `json:"timeout"`
	// Seed seeds the random strategies.
	Seed int64 `json:"seed"`
	// ReadyCheck is how often every dyno's /readyz is asked; 0: never,
	// every dyno is always in rotation.
	ReadyCheck wire.Duration `json:"ready_check,omitempty"`
	// ReadyFailures is how many checks in a row a dyno fails before it is
	// taken out of rotation (one that passes puts it back).
	ReadyFailures int `json:"ready_failures,omitempty"`
}

var _ roles.Config = (*Config)(nil)

// DefaultConfig is the original design's router: random routing, 30 s
// timeout, no dynos yet.
func DefaultConfig() Config {
	return Config{Strategy: "random", Timeout: wire.Duration(30 * time.Second), ReadyFailures: 3}
}

// Flags binds one flag per setting to c; the flags' defaults are c's
// current values.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&c.Dynos, "dynos", c.Dynos,
		"base URLs of the dynos to route orders to, comma separated (e.g. http://127.0.0.1:9001,http://127.0.0.1:9002); "+
			"may be empty and set later with PUT /admin/dynos")
	fs.StringVar(&c.Strategy, "strategy", c.Strategy,
		"how a dyno is chosen for each request: random (blind, lets dynos back up), round-robin (in turn), "+
			"least-conn (fewest requests in flight from this router), p2c (the less busy of two random dynos)")
	fs.DurationVar((*time.Duration)(&c.Timeout), "timeout", c.Timeout.D(),
		"how long the router waits for a dyno's answer before it gives up and answers 503 \"router timeout\"")
	fs.Int64Var(&c.Seed, "seed", c.Seed,
		"seed of the random and p2c strategies (same seed, same choices)")
	fs.DurationVar((*time.Duration)(&c.ReadyCheck), "ready-check", c.ReadyCheck.D(),
		"how often to ask every dyno's /readyz, as a readiness probe does; a dyno failing --ready-failures checks in a row "+
			"gets no orders until one passes (0: no checks, every dyno gets orders)")
	fs.IntVar(&c.ReadyFailures, "ready-failures", c.ReadyFailures,
		"failed readiness checks in a row that take a dyno out of rotation")
}

// Validate reports every setting that is wrong, naming each by its flag.
func (c Config) Validate() error {
	var errs []error
	if err := checkDynos(c.Dynos); err != nil {
		errs = append(errs, fmt.Errorf("--dynos: %w", err))
	}
	if _, ok := strategies[c.Strategy]; !ok {
		errs = append(errs, fmt.Errorf("--strategy: must be one of %s, got %q", strings.Join(Strategies(), ", "), c.Strategy))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout: must be greater than 0, got %s", c.Timeout.D()))
	}
	if c.ReadyCheck < 0 {
		errs = append(errs, fmt.Errorf("--ready-check: must be 0 (no checks) or more, got %s", c.ReadyCheck.D()))
	}
	if c.ReadyCheck > 0 && c.ReadyFailures < 1 {
		errs = append(errs, fmt.Errorf("--ready-failures: must be at least 1, got %d", c.ReadyFailures))
	}
	return errors.Join(errs...)
}

// Build returns the router c describes.
func (c *Config) Build() (http.Handler, error) { return New(*c) }

// checkDynos says which dyno URLs are not base URLs.
func checkDynos(dynos []string) error {
	var errs []error
	for _, s := range dynos {
		if err := service.CheckURL(s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
