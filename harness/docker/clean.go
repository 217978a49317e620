package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
)

// Clean removes every container, network, volume and image labelled
// paydrill.* (what runs that crashed or were killed left behind, and the
// shared image cache), and says what it removed on w. Runs still going
// lose their containers too: clean when none is.
func Clean(ctx context.Context, w io.Writer) error {
	cli, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	removed, err := removeLabelled(ctx, cli, labelPrefix, true)
	if removed.total() == 0 {
		fmt.Fprintln(w, "nothing to remove")
	} else {
		fmt.Fprintf(w, "removed %s\n", removed)
	}
	return err
}

// removal counts what removeLabelled removed.
type removal struct{ containers, networks, volumes, images int }

func (r removal) total() int { return r.containers + r.networks + r.volumes + r.images }

func (r removal) String() string {
	plural := func(n int, what string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, what)
		}
		return fmt.Sprintf("%d %ss", n, what)
	}
	return strings.Join([]string{
		plural(r.containers, "container"), plural(r.networks, "network"),
		plural(r.volumes, "volume"), plural(r.images, "image"),
	}, ", ")
}

// labelMatcher selects resources by label: "key=value" matches exactly
// (and is passed to the daemon as a filter); a key prefix ending in "."
// matches every label key that starts with it.
type labelMatcher string

func (m labelMatcher) filters() filters.Args {
	if strings.HasSuffix(string(m), ".") {
		return filters.NewArgs()
	}
	return filters.NewArgs(filters.Arg("label", string(m)))
}

func (m labelMatcher) match(labels map[string]string) bool {
	s := string(m)
	if strings.HasSuffix(s, ".") {
		for k := range labels {
			if strings.HasPrefix(k, s) {
				return true
			}
		}
		return false
	}
	k, v, _ := strings.Cut(s, "=")
	got, ok := labels[k]
	return ok && got == v
}

// removeLabelled removes the containers (forcibly, running or not), then
// the networks and volumes, then (withImages) the images that m matches.
// A container whose creation was still in flight when a run was cancelled
// may appear a moment later: it passes again until a pass finds nothing.
func removeLabelled(ctx context.Context, cli client.APIClient, m string, withImages bool) (removal, error) {
	var total removal
	var errs []error
	match := labelMatcher(m)
	for pass := 0; pass < 3; pass++ {
		r, err := removeOnce(ctx, cli, match, withImages)
		total.containers += r.containers
		total.networks += r.networks
		total.volumes += r.volumes
		total.images += r.images
		if err != nil {
			errs = append(errs, err)
		}
		if r.total() == 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return total, errors.Join(errs...)
}

func removeOnce(ctx context.Context, cli client.APIClient, m labelMatcher, withImages bool) (removal, error) {
	var r removal
	var errs []error
	gone := func(err error) bool { return err == nil || errdefs.IsNotFound(err) }

	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: m.filters()})
	if err != nil {
		return r, fmt.Errorf("docker: listing containers: %w", err)
	}
	// In parallel: removing a running container kills it first.
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	for _, c := range cs {
		if !m.match(c.Labels) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !gone(err) {
				// A paused container may refuse; unpause it and try again.
				_ = cli.ContainerUnpause(ctx, c.ID)
				err = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
			}
			mu.Lock()
			defer mu.Unlock()
			if gone(err) {
				r.containers++
			} else {
				errs = append(errs, fmt.Errorf("docker: removing container %s: %w", shortID(c.ID), err))
			}
		}()
	}
	wg.Wait()

	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: m.filters()})
	if err != nil {
		errs = append(errs, fmt.Errorf("docker: listing networks: %w", err))
	}
	for _, n := range ns {
		if !m.match(n.Labels) {
			continue
		}
		if err := cli.NetworkRemove(ctx, n.ID); gone(err) {
			r.networks++
		} else {
			errs = append(errs, fmt.Errorf("docker: removing network %s: %w", n.Name, err))
		}
	}

	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: m.filters()})
	if err != nil {
		errs = append(errs, fmt.Errorf("docker: listing volumes: %w", err))
	}
	for _, v := range vs.Volumes {
		if v == nil || !m.match(v.Labels) {
			continue
		}
		if err := cli.VolumeRemove(ctx, v.Name, true); gone(err) {
			r.volumes++
		} else {
			errs = append(errs, fmt.Errorf("docker: removing volume %s: %w", v.Name, err))
		}
	}

	if withImages {
		is, err := cli.ImageList(ctx, image.ListOptions{All: true, Filters: m.filters()})
		if err != nil {
			errs = append(errs, fmt.Errorf("docker: listing images: %w", err))
		}
		// Tagged images first: removing one prunes its untagged parents
		// (the classic builder's intermediate images), which then read as
		// already gone.
		var tagged, untagged []image.Summary
		for _, im := range is {
			if !m.match(im.Labels) {
				continue
			}
			if len(im.RepoTags) > 0 && im.RepoTags[0] != "<none>:<none>" {
				tagged = append(tagged, im)
			} else {
				untagged = append(untagged, im)
			}
		}
		for _, im := range append(tagged, untagged...) {
			_, err := cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
			switch {
			case err == nil:
				r.images++
			case errdefs.IsNotFound(err):
			default:
				errs = append(errs, fmt.Errorf("docker: removing image %s: %w", shortID(im.ID), err))
			}
		}
	}
	return r, errors.Join(errs...)
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func volumeCreateOptions(name string, labels map[string]string) volume.CreateOptions {
	return volume.CreateOptions{Name: name, Driver: "local", Labels: labels}
}

// containerLogs returns the last n lines a container wrote, "" when none
// can be read.
func containerLogs(ctx context.Context, cli client.APIClient, id string, n int) string {
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(n)})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var out bytes.Buffer
	_, _ = stdcopy.StdCopy(&out, &out, rc)
	return strings.TrimRight(out.String(), "\n")
}

// roleFile turns a role into a file name: "dyno[2]" → "dyno-2".
func roleFile(role string) string {
	return strings.NewReplacer("[", "-", "]", "").Replace(role)
}

// saveLogs writes everything a container wrote to dir/logs/<role>.log.
func saveLogs(ctx context.Context, cli client.APIClient, id, dir, role string) error {
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return fmt.Errorf("%s's logs: %w", role, err)
	}
	defer rc.Close()
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(logs, roleFile(role)+".log"))
	if err != nil {
		return err
	}
	_, err = stdcopy.StdCopy(f, f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s's logs: %w", role, err)
	}
	return nil
}

// copyStore copies the files of a (stopped) container's /data into
// dir/stores, where the embedded runtime keeps its stores too.
func copyStore(ctx context.Context, cli client.APIClient, id, dir string) error {
	rc, _, err := cli.CopyFromContainer(ctx, id, "/data")
	if err != nil {
		return err
	}
	defer rc.Close()
	stores := filepath.Join(dir, "stores")
	if err := os.MkdirAll(stores, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Base(h.Name)
		if name == "." || name == "/" || strings.HasPrefix(name, ".") {
			continue
		}
		f, err := os.Create(filepath.Join(stores, name))
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}
