// Package roles defines what every component of the simulated system offers
// so that `paydrill serve ROLE`, the runtimes and the tests build components
// the same way: a config settable from flags and JSON, validated, built.
package roles

import (
	"net/http"

	"github.com/spf13/pflag"
)

// Config is a component's configuration: settable from flags and from JSON
// (its struct's json tags), checked by Validate, and built into the
// component's http.Handler (which may also be an io.Closer).
type Config interface {
	Flags(fs *pflag.FlagSet)
	Validate() error
	Build() (http.Handler, error)
}

// Role is one kind of component.
type Role struct {
	Name  string
	Short string
	// New returns a pointer to a config holding the role's defaults.
	New func() Config
}
