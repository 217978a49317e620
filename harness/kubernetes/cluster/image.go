package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"paydrill/internal/imagetar"
	"paydrill/internal/staticbin"
)

// ImportImage imports a docker-archive tarball (`docker save`'s format,
// what internal/imagetar writes) into every node's containerd, in the
// namespace the kubelets use (k8s.io): pods then run it with
// imagePullPolicy Never or IfNotPresent, nothing being pulled.
func (c *Cluster) ImportImage(ctx context.Context, archive string) error {
	st, err := c.loadState()
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("importing %s: the local cluster in %s is not up", archive, c.dir())
	}
	l := layout{c.dir()}
	return eachNode(st.Nodes, func(n nodeState) error {
		if err := importInto(ctx, l.socket(n.Name), archive); err != nil {
			return fmt.Errorf("importing %s into %s: %w", archive, n.Name, err)
		}
		return nil
	})
}

func importInto(ctx context.Context, socket, archive string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	_, err := ctr(ctx, socket, "images", "import", archive)
	return err
}

// ctr runs Debian's containerd client against one of our containerds.
func ctr(ctx context.Context, socket string, args ...string) (string, error) {
	return run(ctx, "/usr/bin/ctr", append([]string{"--address", socket, "--namespace", "k8s.io"}, args...)...)
}

// writePauseImage writes the sandbox image every pod starts with: no
// registry serves registry.k8s.io/pause here, so it is the static paydrill
// binary running `paydrill pause`, as the user 65535 the real one runs as.
func (c *Cluster) writePauseImage(ctx context.Context, path string) error {
	bin, err := staticbin.Path(ctx, runtime.GOARCH, "kubernetes", c.Log)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return imagetar.WriteFile(path, imagetar.Image{
		Tags:       []string{pauseImage},
		Binary:     bin,
		BinaryPath: "/paydrill",
		Entrypoint: []string{"/paydrill", "pause"},
		User:       "65535:65535",
		Labels:     map[string]string{"paydrill.image": "pause"},
	})
}

// ctrContainer is what Down needs of a container containerd knows.
type ctrContainer struct {
	id, netns string
}

// ctrContainers lists node's containers with their network namespace
// path (the pod sandboxes' cni-..., under containerd's state directory).
func ctrContainers(ctx context.Context, socket string) ([]ctrContainer, error) {
	out, err := ctr(ctx, socket, "containers", "ls", "-q")
	if err != nil {
		return nil, err
	}
	var cs []ctrContainer
	for _, id := range strings.Fields(out) {
		c := ctrContainer{id: id}
		if info, err := ctr(ctx, socket, "containers", "info", id); err == nil {
			c.netns = netnsOf([]byte(info))
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// netnsOf reads the network namespace path from `ctr containers info`.
func netnsOf(info []byte) string {
	var v struct {
		Spec struct {
			Linux struct {
				Namespaces []struct{ Type, Path string }
			}
		}
	}
	if json.Unmarshal(info, &v) != nil {
		return ""
	}
	for _, ns := range v.Spec.Linux.Namespaces {
		if ns.Type == "network" && filepath.IsAbs(ns.Path) {
			return ns.Path
		}
	}
	return ""
}

// removeContainers kills and deletes every task and container of one of
// our containerds (what a kubelet that could not tear its pods down left),
// returning the network namespaces they held.
func removeContainers(ctx context.Context, socket string) ([]string, error) {
	cs, err := ctrContainers(ctx, socket)
	if err != nil {
		return nil, err
	}
	var netns []string
	var errs []error
	for _, c := range cs {
		if c.netns != "" {
			netns = append(netns, c.netns)
		}
		ctr(ctx, socket, "tasks", "kill", "--signal", "SIGKILL", c.id)
	}
	for _, c := range cs {
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := ctr(ctx, socket, "tasks", "delete", c.id)
			if err == nil || strings.Contains(err.Error(), "not found") || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if _, err := ctr(ctx, socket, "containers", "delete", c.id); err != nil && !strings.Contains(err.Error(), "not found") {
			errs = append(errs, err)
		}
	}
	return netns, errors.Join(errs...)
}
