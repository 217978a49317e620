package dyno

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/dist"
	"paydrill/sim/roles"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// Dedupe variants: how a dyno recognises an order it already holds.
const (
	// DedupeOff charges, then inserts; a duplicate is only noticed when the
	// insert fails, after the customer was charged again.
	DedupeOff = "off"
	// DedupeCheck looks the request id up, then charges, then inserts: two
	// copies of one order racing each other are both charged.
	DedupeCheck = "check"
	// DedupeClaim inserts the request id under the db's unique constraint
	// before charging, so only one copy of an order is ever charged.
	DedupeClaim = "claim"
)

// Config is one dyno: a production app server with a fixed number of
// workers and a backlog queue in front of them.
type Config struct {
	// Name identifies the dyno in answers (X-Paydrill-Dyno), the db and exports.
	Name string `json:"name"`
	// Gateway is the payment gateway's base URL.
	Gateway string `json:"gateway"`
	// DB is the production order store's base URL.
	DB string `json:"db"`
	// Workers is how many orders run at once.
	Workers int `json:"workers"`
	// Backlog is how many orders may wait for a worker; past it, 503.
	Backlog int `json:"backlog"`
	// ServiceTime is the time a worker spends on one order, in seconds,
	// not counting the wait for the gateway.
	ServiceTime dist.Spec `json:"service_time"`
	// GatewayTimeout bounds one charge at the gateway.
	GatewayTimeout wire.Duration `json:"gateway_timeout"`
	// RiskLimitCents: when the gateway does not answer, orders below this
	// amount are accepted uncharged (deferred); the others are refused.
	RiskLimitCents int64 `json:"risk_limit_cents"`
	// Dedupe is DedupeOff, DedupeCheck or DedupeClaim.
	Dedupe string `json:"dedupe"`
	// Seed seeds the service-time sampler and the gateway-down ids.
	Seed int64 `json:"seed"`
	// ExactGatewayLink says the link to the gateway adds no modelled time
	// (nothing can slow it): a charge's modelled wait is the latency the
	// gateway reports (wire.HeaderLatency), or the gateway timeout when
	// it does not answer in time, and the real round trip is the
	// machine's. Off, the wait is measured (less the gateway's reported
	// overhead), so a slowed link's delay counts as modelled time.
	ExactGatewayLink bool `json:"exact_gateway_link"`
}

var _ roles.Config = (*Config)(nil)

// DefaultConfig is a dyno of the original design: 2 workers, a backlog of
// 50, a lognormal service time (median 50 ms, p99 900 ms), a 10 s gateway
// timeout, a $100 risk limit and claim de-duplication.
func DefaultConfig() Config {
	return Config{
		Name:           "dyno-1",
		Workers:        2,
		Backlog:        50,
		ServiceTime:    dist.Spec{Kind: "lognormal", Median: 0.05, P99: 0.9},
		GatewayTimeout: wire.Duration(10 * time.Second),
		RiskLimitCents: 10000,
		Dedupe:         DedupeClaim,
	}
}

// Flags binds one flag per setting to c; the flags' defaults are c's
// current values.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Name, "name", c.Name,
		"name of this dyno, sent back in the X-Paydrill-Dyno header and saved with every order it takes")
	fs.StringVar(&c.Gateway, "gateway", c.Gateway,
		"base URL of the payment gateway the dyno charges cards at, e.g. http://127.0.0.1:8081")
	fs.StringVar(&c.DB, "db", c.DB,
		"base URL of the production order store (the db component), e.g. http://127.0.0.1:8082")
	fs.IntVar(&c.Workers, "workers", c.Workers,
		"number of orders this dyno works on at the same time (like unicorn workers)")
	fs.IntVar(&c.Backlog, "backlog", c.Backlog,
		"number of orders that may wait for a free worker; one more is refused at once with 503 \"backlog full\"")
	fs.Var(dist.DurationFlag{Spec: &c.ServiceTime}, "service-time",
		"time a worker spends on one order, not counting the wait for the gateway, as a distribution "+
			"(e.g. const:value=50ms, lognormal:median=50ms,p99=900ms)")
	fs.DurationVar((*time.Duration)(&c.GatewayTimeout), "gateway-timeout", c.GatewayTimeout.D(),
		"how long the dyno waits for the gateway to answer a charge before it treats the gateway as down")
	fs.Int64Var(&c.RiskLimitCents, "risk-limit-cents", c.RiskLimitCents,
		"when the gateway is down, orders below this amount (in cents) are accepted without a charge "+
			"(gateway id gateway-down-…, charged later by the reconciler); larger ones get 402 \"card failed\"")
	fs.StringVar(&c.Dedupe, "dedupe", c.Dedupe,
		"how the dyno recognises an order it already holds, by X-Request-Id: "+
			"off (charge, then save: duplicates are charged twice), "+
			"check (look up, then charge: two copies racing are both charged), "+
			"claim (save the id first under a unique constraint, then charge)")
	fs.Int64Var(&c.Seed, "seed", c.Seed,
		"seed of the random service times and gateway-down ids (same seed, same run)")
	fs.BoolVar(&c.ExactGatewayLink, "exact-gateway-link", c.ExactGatewayLink,
		"the link to the gateway adds no modelled time: hold a worker for the latency the gateway reports (or the "+
			"gateway timeout), not the measured round trip, so the machine's share is never modelled time")
}

// Validate reports every setting that is wrong, naming each by its flag.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Name == "" {
		bad("--name: must not be empty")
	}
	if err := service.CheckURL(c.Gateway); err != nil {
		bad("--gateway: %w", err)
	}
	if err := service.CheckURL(c.DB); err != nil {
		bad("--db: %w", err)
	}
	if c.Workers < 1 {
		bad("--workers: must be at least 1, got %d", c.Workers)
	}
	if c.Backlog < 0 {
		bad("--backlog: must be 0 or more, got %d", c.Backlog)
	}
	if err := c.ServiceTime.Validate(); err != nil {
		bad("--service-time: %w", err)
	}
	if c.GatewayTimeout <= 0 {
		bad("--gateway-timeout: must be greater than 0, got %s", c.GatewayTimeout.D())
	}
	if c.RiskLimitCents < 0 {
		bad("--risk-limit-cents: must be 0 or more, got %d", c.RiskLimitCents)
	}
	switch c.Dedupe {
	case DedupeOff, DedupeCheck, DedupeClaim:
	default:
		bad("--dedupe: must be off, check or claim, got %q", c.Dedupe)
	}
	return errors.Join(errs...)
}

// Build returns the dyno c describes.
func (c *Config) Build() (http.Handler, error) { return New(*c) }
