package cli

import (
	"paydrill/harness/docker"
	"paydrill/harness/system"
)

// newDockerRuntime returns the docker runtime, telling env's stderr what it
// builds and tears down unless quiet.
func newDockerRuntime(env Env, quiet bool) system.Runtime {
	d := docker.Runtime{}
	if !quiet {
		d.Log = env.Stderr
	}
	return d
}
