// Package imagetar writes a container image as a docker-archive tarball
// (what `docker save` writes and `docker load` or `ctr images import`
// read) without a Docker daemon or a registry: paydrill's images are one
// static binary FROM scratch, so one layer holding that binary and a few
// empty directories is the whole image.
//
// The archive holds manifest.json (the tags, the config and the layer),
// the image config (os, architecture, entrypoint, user, labels and the
// layer's diff_id) and the layer as an uncompressed tar. Every timestamp is
// fixed, so the same binary and settings give the same bytes, the same
// image ID and the same layer digest: an import of an unchanged image
// stores nothing new.
package imagetar

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Image is what goes in the archive.
type Image struct {
	// Tags are the image's references, e.g. "registry.k8s.io/pause:3.10"
	// or "paydrill:abc123" (at least one).
	Tags []string
	// Binary is the host path of the one file the image holds.
	Binary string
	// BinaryPath is where it is in the image (default "/paydrill"),
	// mode 0755, owned by root.
	BinaryPath string
	// Entrypoint and Cmd as in a Dockerfile's exec form.
	Entrypoint []string
	Cmd        []string
	// Env entries, "KEY=value".
	Env []string
	// User is "uid" or "uid:gid" (empty: root).
	User string
	// Dirs are empty directories created in the image (their parents are
	// created too, owned by root, mode 0755).
	Dirs []Dir
	// Labels of the image config.
	Labels map[string]string
	// OS and Arch of the image (default linux and runtime.GOARCH).
	OS, Arch string
}

// Dir is an empty directory in the image, e.g. the /data a store volume
// is mounted on, owned by the user the container runs as.
type Dir struct {
	Path     string
	UID, GID int
	// Mode is the permission bits (default 0755).
	Mode os.FileMode
}

// epoch is every entry's and the config's timestamp: fixed, so the archive
// depends on its content only.
var epoch = time.Unix(0, 0).UTC()

// Write writes img as a docker-archive tarball to w. It reads the binary
// twice (once for the layer's digest and size, once to write it), so the
// layer is never held in memory.
func Write(w io.Writer, img Image) error {
	if len(img.Tags) == 0 {
		return errors.New("imagetar: an image needs at least one tag")
	}
	if img.Binary == "" {
		return errors.New("imagetar: no binary")
	}
	if img.BinaryPath == "" {
		img.BinaryPath = "/paydrill"
	}
	if img.OS == "" {
		img.OS = "linux"
	}
	if img.Arch == "" {
		img.Arch = runtime.GOARCH
	}
	// Pass 1: the layer's digest and size.
	h := sha256.New()
	cw := &countWriter{w: h}
	if err := writeLayer(cw, img); err != nil {
		return err
	}
	layerSum := hex.EncodeToString(h.Sum(nil))
	layerSize := cw.n

	config, err := configJSON(img, layerSum)
	if err != nil {
		return err
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	layerName := layerSum + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": img.Tags,
		"Layers":   []string{layerName},
	}})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: layerSum + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: layerName, Mode: 0o644, Size: layerSize, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	// Pass 2: the layer itself, checked against pass 1 (the binary must
	// not change in between).
	h2 := sha256.New()
	if err := writeLayer(io.MultiWriter(tw, h2), img); err != nil {
		return err
	}
	if got := hex.EncodeToString(h2.Sum(nil)); got != layerSum {
		return fmt.Errorf("imagetar: %s changed while the image was written", img.Binary)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{configName, config}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// WriteFile writes img to the file at path (replaced atomically).
func WriteFile(path string, img Image) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := Write(f, img); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// writeLayer writes the layer tar: the directories (parents first), then
// the binary.
func writeLayer(w io.Writer, img Image) error {
	tw := tar.NewWriter(w)
	dirs := map[string]tar.Header{}
	addParents := func(p string) {
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			name := strings.TrimPrefix(d, "/") + "/"
			if _, ok := dirs[name]; !ok {
				dirs[name] = tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}
			}
		}
	}
	for _, d := range img.Dirs {
		p := path.Clean("/" + d.Path)
		if p == "/" {
			return fmt.Errorf("imagetar: directory %q is the root", d.Path)
		}
		addParents(p)
		mode := d.Mode.Perm()
		if mode == 0 {
			mode = 0o755
		}
		name := strings.TrimPrefix(p, "/") + "/"
		dirs[name] = tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: int64(mode), Uid: d.UID, Gid: d.GID, ModTime: epoch, Format: tar.FormatPAX}
	}
	bin := path.Clean("/" + img.BinaryPath)
	addParents(bin)
	names := make([]string, 0, len(dirs))
	for n := range dirs {
		names = append(names, n)
	}
	sort.Strings(names) // a parent sorts before its children
	for _, n := range names {
		hdr := dirs[n]
		if err := tw.WriteHeader(&hdr); err != nil {
			return err
		}
	}
	f, err := os.Open(img.Binary)
	if err != nil {
		return fmt.Errorf("imagetar: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("imagetar: %s is not a regular file", img.Binary)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(bin, "/"), Mode: 0o755, Size: fi.Size(), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if n, err := io.Copy(tw, f); err != nil {
		return err
	} else if n != fi.Size() {
		return fmt.Errorf("imagetar: %s changed size while the image was written", img.Binary)
	}
	return tw.Close()
}

// configJSON is the image config (the OCI/docker image JSON).
func configJSON(img Image, layerSum string) ([]byte, error) {
	cfg := map[string]any{}
	if len(img.Entrypoint) > 0 {
		cfg["Entrypoint"] = img.Entrypoint
	}
	if len(img.Cmd) > 0 {
		cfg["Cmd"] = img.Cmd
	}
	if len(img.Env) > 0 {
		cfg["Env"] = img.Env
	}
	if img.User != "" {
		cfg["User"] = img.User
	}
	if len(img.Labels) > 0 {
		cfg["Labels"] = img.Labels
	}
	return json.Marshal(map[string]any{
		"architecture": img.Arch,
		"os":           img.OS,
		"created":      epoch.Format(time.RFC3339),
		"config":       cfg,
		"rootfs": map[string]any{
			"type":     "layers",
			"diff_ids": []string{"sha256:" + layerSum},
		},
		"history": []map[string]any{{"created": epoch.Format(time.RFC3339), "created_by": "paydrill imagetar"}},
	})
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
