// Package staticbin finds or builds the statically linked paydrill binary
// (CGO_ENABLED=0, linux) that the container runtimes put in their image.
package staticbin

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Path returns a statically linked paydrill binary for linux/arch (for
// the runtime named who, "docker", named in its errors and log lines):
// the running one when it is such a binary, otherwise one built from the
// module's source with CGO_ENABLED=0 into the user's cache directory (go
// build leaves an up-to-date binary alone, so later runs cost little).
func Path(ctx context.Context, arch, who string, log io.Writer) (string, error) {
	if exe, err := os.Executable(); err == nil && IsStatic(exe, arch) {
		return exe, nil
	}
	src, err := ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("the %s runtime needs a statically linked paydrill binary: this one is not (build it with CGO_ENABLED=0) and %w", who, err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, serr := os.Stat(goTool); serr != nil {
			return "", fmt.Errorf("the %s runtime needs a statically linked paydrill binary: this one is not (build it with CGO_ENABLED=0) and no go command is on PATH to build one", who)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "paydrill", "bin", "paydrill-linux-"+arch)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	if log != nil {
		fmt.Fprintf(log, "%s: go build paydrill (linux/%s, CGO_ENABLED=0) from %s\n", who, arch, src)
	}
	cmd := exec.CommandContext(ctx, goTool, "build", "-buildvcs=false", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("go build paydrill interrupted: %w", ctx.Err())
		}
		return "", fmt.Errorf("go build paydrill in %s: %w\n%s", src, err, lastLines(stderr.String(), 20))
	}
	return out, nil
}

// IsStatic reports whether exe is paydrill's command built for
// linux/arch without cgo and without a dynamic loader.
func IsStatic(exe, arch string) bool {
	bi, err := buildinfo.ReadFile(exe)
	if err != nil || bi.Path != "paydrill" {
		return false
	}
	set := map[string]string{}
	for _, s := range bi.Settings {
		set[s.Key] = s.Value
	}
	if set["CGO_ENABLED"] != "0" || set["GOOS"] != "linux" || set["GOARCH"] != arch {
		return false
	}
	f, err := elf.Open(exe)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return false
		}
	}
	return true
}

// ModuleRoot finds paydrill's source: the module holding the working
// directory, or the one this file was compiled from.
func ModuleRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
				if modulePath(data) == "paydrill" {
					return dir, nil
				}
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("paydrill's module source (go.mod of module paydrill) is not found from the working directory")
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// lastLines keeps the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
