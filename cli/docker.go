package cli

import "paydrill/harness"

// newDockerRuntime returns the docker runtime, telling env's stderr what it
// builds and tears down unless quiet.
func newDockerRuntime(env Env, quiet bool) harness.Runtime {
	d := harness.Docker{}
	if !quiet {
		d.Log = env.Stderr
	}
	return d
}
