package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/jsonmessage"

	"paydrill/internal/staticbin"
)

// The docker runtime runs one image: FROM scratch, a statically linked
// paydrill binary as its entrypoint, an empty /data owned by the unprivileged
// user every container runs as (a new named volume mounted there copies that
// ownership, so the stores are writable while the root filesystem is read
// only). The image is built locally, never pulled, and shared by every run:
// it is tagged paydrill:<content hash> (the binary and this Dockerfile), so a
// run whose image already exists builds nothing, and labelled
// paydrill.image=1 (not paydrill.run: no single run owns it). A run's
// teardown leaves it for the next run; building a new one (the source
// changed) removes the older ones no container uses; `paydrill clean`
// removes them all.
const (
	imageRepo  = "paydrill"
	labelImage = "paydrill.image" // "1" on every paydrill image (and paydrill.content: its full hash)
	runAsUser  = "65534:65534"    // nobody:nogroup
	// imageDockerfile's %s is the content hash. Every step is labelled
	// (LABEL first), so even the intermediate images of an interrupted
	// build are found by Clean.
	imageDockerfile = `FROM scratch
LABEL paydrill.image=1 paydrill.content=%s
COPY --chown=65534:65534 data /data
COPY paydrill /paydrill
USER 65534:65534
ENTRYPOINT ["/paydrill"]
`
)

// imageBuilder builds (once per content) the runtime's image. One per
// process: concurrent runs share it.
var images imageBuilder

type imageBuilder struct {
	mu  sync.Mutex
	bin string // the static binary, once found or built in this process
	sum string // hex sha256 of the Dockerfile and the binary
}

// ensure returns the tag of the image for the daemon's architecture,
// building the binary and the image when they do not exist yet. log, when
// not nil, is told what is being built.
func (b *imageBuilder) ensure(ctx context.Context, cli client.APIClient, log io.Writer) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bin == "" {
		v, err := cli.ServerVersion(ctx)
		if err != nil {
			return "", fmt.Errorf("docker version: %w", err)
		}
		if v.Os != "" && v.Os != "linux" {
			return "", fmt.Errorf("the docker daemon runs %s containers; paydrill's image is linux only", v.Os)
		}
		arch := v.Arch
		if arch == "" {
			arch = runtime.GOARCH
		}
		bin, err := staticbin.Path(ctx, arch, "docker", log)
		if err != nil {
			return "", err
		}
		sum, err := contentHash(bin)
		if err != nil {
			return "", err
		}
		b.bin, b.sum = bin, sum
	}
	tag := imageRepo + ":" + b.sum[:16]
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !errdefs.IsNotFound(err) {
		return "", fmt.Errorf("docker image inspect %s: %w", tag, err)
	}
	if log != nil {
		fmt.Fprintf(log, "docker: building image %s\n", tag)
	}
	if err := buildImage(ctx, cli, b.bin, tag, b.sum); err != nil {
		return "", fmt.Errorf("building image %s: %w", tag, err)
	}
	pruneImages(ctx, cli, tag)
	return tag, nil
}

// pruneImages removes the paydrill images of other content (older builds)
// that no container uses, so that the cache does not grow with every change
// of the source. An image in use, even by a stopped container, stays; so do
// untagged ones (maybe another process's build in progress): Clean removes
// them.
func pruneImages(ctx context.Context, cli client.APIClient, keep string) {
	is, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", labelImage+"=1"))})
	if err != nil {
		return
	}
	for _, im := range is {
		if len(im.RepoTags) == 0 || slices.Contains(im.RepoTags, keep) {
			continue
		}
		if !slices.ContainsFunc(im.RepoTags, func(t string) bool { return strings.HasPrefix(t, imageRepo+":") }) {
			continue
		}
		_, _ = cli.ImageRemove(ctx, im.ID, image.RemoveOptions{PruneChildren: true})
	}
}

// contentHash hashes what makes the image: its Dockerfile's template and
// the binary.
func contentHash(bin string) (string, error) {
	f, err := os.Open(bin)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	io.WriteString(h, imageDockerfile)
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildImage sends a build context (the Dockerfile, the binary, an empty
// data directory) to the daemon's classic builder, which needs no registry
// and no BuildKit session: FROM scratch has no base image to pull.
func buildImage(ctx context.Context, cli client.APIClient, bin, tag, sum string) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeBuildContext(pw, bin, fmt.Sprintf(imageDockerfile, sum))) }()
	defer pr.Close()
	resp, err := cli.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, &out, 0, false, nil); err != nil {
		return fmt.Errorf("%w\n%s", err, lastLines(out.String(), 10))
	}
	return nil
}

// writeBuildContext writes the build context as a tar stream.
func writeBuildContext(w io.Writer, bin, dockerfile string) error {
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	mtime := time.Unix(0, 0)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, dockerfile); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "data/", Mode: 0o755, ModTime: mtime, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "paydrill", Mode: 0o755, Size: fi.Size(), ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}
	return tw.Close()
}

// lastLines keeps the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
