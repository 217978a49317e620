package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// KubernetesVersion is the version of the binaries Build makes.
const KubernetesVersion = "v1.34.0"

// The build modules: buildmod/k8s.* builds kube-apiserver,
// kube-controller-manager, kube-scheduler and kubelet (k8s.io/kubernetes
// v1.34.0 with every staging module replaced by its published v0.34.0);
// buildmod/proxy.* builds kube-proxy, whose go.sum needs lines the first
// lacks (go build -mod=mod adds them). They are embedded under other names
// because go:embed cannot descend into a directory holding a go.mod.
//
//go:embed buildmod
var buildmod embed.FS

// binaries are the commands Build makes, all in one bin directory.
var binaries = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}

// versionLDFlags stamp the version, or the commands report v0.0.0-master
// and clients refuse to parse it.
const versionLDFlags = "-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion +
	" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34"

// buildFiles maps each build module's files to their embedded source.
var buildFiles = map[string]string{
	"k8s/go.mod":     "buildmod/k8s.go.mod",
	"k8s/go.sum":     "buildmod/k8s.go.sum",
	"k8s/tools.go":   "buildmod/k8s-tools.go.txt",
	"proxy/go.mod":   "buildmod/proxy.go.mod",
	"proxy/go.sum":   "buildmod/proxy.go.sum",
	"proxy/tools.go": "buildmod/proxy-tools.go.txt",
}

// BuildDir is where Build writes the build modules and the binaries
// (bin/): the user's cache directory, shared by every cluster directory,
// kept by Down like a build cache.
func BuildDir() string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "paydrill", "k8s-"+KubernetesVersion)
}

// buildStamp is the hash of everything the binaries are built from: the
// embedded modules, the flags and the platform. bin/.built holds it once
// every binary is in place.
func buildStamp() string {
	h := sha256.New()
	for _, k := range sortedKeys(buildFiles) {
		data, _ := buildmod.ReadFile(buildFiles[k])
		fmt.Fprintf(h, "%s %d\n", k, len(data))
		h.Write(data)
	}
	fmt.Fprintf(h, "ldflags %s\nplatform %s/%s\n", versionLDFlags, runtime.GOOS, runtime.GOARCH)
	return hex.EncodeToString(h.Sum(nil))
}

// Built returns the directory of the binaries and true when Build has
// made them from the files this paydrill embeds (nothing to build).
func Built() (string, bool) {
	bin := filepath.Join(BuildDir(), "bin")
	stamp, err := os.ReadFile(filepath.Join(bin, ".built"))
	if err != nil || strings.TrimSpace(string(stamp)) != buildStamp() {
		return bin, false
	}
	for _, b := range binaries {
		if fi, err := os.Stat(filepath.Join(bin, b)); err != nil || fi.Mode()&0o111 == 0 {
			return bin, false
		}
	}
	return bin, true
}

// Build returns the directory holding the Kubernetes binaries, building
// them first when they are missing or were built from other files: it
// writes the build modules into BuildDir and runs go build there, which
// downloads Kubernetes' modules from the Go module proxy (GOPROXY) and
// compiles them. That takes about 30 minutes on 2 cores with a cold Go
// build cache and about a minute of relinking with a warm one; go build's
// output goes to BuildDir/build.log.
func (c *Cluster) Build(ctx context.Context) (string, error) {
	if bin, ok := Built(); ok {
		return bin, nil
	}
	dir := BuildDir()
	bin := filepath.Join(dir, "bin")
	goTool, err := goCommand()
	if err != nil {
		return "", err
	}
	for rel, src := range buildFiles {
		data, err := buildmod.ReadFile(src)
		if err != nil {
			return "", err
		}
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	os.Remove(filepath.Join(bin, ".built"))
	logPath := filepath.Join(dir, "build.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	c.logf("building Kubernetes %s (%s) from the Go module proxy in %s: about 30 minutes on 2 cores with a cold Go build cache, about 1 minute warm; go build's output in %s",
		KubernetesVersion, strings.Join(binaries, ", "), dir, logPath)
	began := time.Now()
	steps := []struct {
		module  string
		env     []string
		targets []string
	}{
		{"k8s", nil, []string{"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager", "k8s.io/kubernetes/cmd/kube-scheduler", "k8s.io/kubernetes/cmd/kubelet"}},
		{"proxy", []string{"GOFLAGS=-mod=mod"}, []string{"k8s.io/kubernetes/cmd/kube-proxy"}},
	}
	for _, s := range steps {
		args := append([]string{"build", "-ldflags", versionLDFlags, "-o", bin + "/"}, s.targets...)
		cmd := exec.CommandContext(ctx, goTool, args...)
		cmd.Dir = filepath.Join(dir, s.module)
		cmd.Env = append(os.Environ(), s.env...)
		cmd.Stdout = logf
		cmd.Stderr = logf
		cmd.WaitDelay = 10 * time.Second
		fmt.Fprintf(logf, "$ (cd %s && %s go %s)\n", cmd.Dir, strings.Join(s.env, " "), strings.Join(args, " "))
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("building Kubernetes interrupted: %w", ctx.Err())
			}
			return "", fmt.Errorf("building Kubernetes (%s) in %s: %w\n%s", strings.Join(s.targets, " "), cmd.Dir, err, tailFile(logPath, 20))
		}
		c.logf("built %s in %.0fs", strings.Join(baseNames(s.targets), ", "), time.Since(began).Seconds())
	}
	if err := os.WriteFile(filepath.Join(bin, ".built"), []byte(buildStamp()+"\n"), 0o644); err != nil {
		return "", err
	}
	if _, ok := Built(); !ok {
		return "", fmt.Errorf("go build in %s finished but the binaries (%s) are not all in %s", dir, strings.Join(binaries, ", "), bin)
	}
	return bin, nil
}

// goCommand finds the go command: on PATH, or the toolchain this binary
// was built with.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", errors.New("building Kubernetes needs the go command (Go 1.26 or later), and none is on PATH")
}

func baseNames(pkgs []string) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = filepath.Base(p)
	}
	return out
}

// tailFile returns the last n lines of the file at path (what a failed
// step's log says last).
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		f.Seek(fi.Size()-max, io.SeekStart)
	}
	data, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(data, []byte("?"))), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
