package cli

import (
	"paydrill/harness/docker"
	"paydrill/harness/kubernetes"
	"paydrill/harness/kubernetes/cluster"
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

// newKubernetesRuntime returns the kubernetes runtime on the cluster of
// kubeconfig and context (defaults: see kubernetes.Runtime), paydrill's
// local cluster as the one it imports its image into, telling env's
// stderr what it creates and removes unless quiet.
func newKubernetesRuntime(env Env, kubeconfig, context string, quiet bool) system.Runtime {
	k := kubernetes.Runtime{Kubeconfig: kubeconfig, Context: context, Local: cluster.Default()}
	if !quiet {
		k.Log = env.Stderr
	}
	return k
}
