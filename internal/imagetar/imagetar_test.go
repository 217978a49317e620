package imagetar

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readTar returns every entry of a tarball by name, with its header.
func readTar(t *testing.T, data []byte) (map[string][]byte, map[string]*tar.Header, []string) {
	t.Helper()
	files := map[string][]byte{}
	hdrs := map[string]*tar.Header{}
	var order []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the tarball: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
		hdrs[h.Name] = h
		order = append(order, h.Name)
	}
	return files, hdrs, order
}

// The archive is what docker load and ctr import read: a manifest naming
// the tags, a config whose diff_id is the layer's digest and whose name is
// the config's own digest, and a layer holding the binary and the
// directories with their owners.
func TestWriteDockerArchive(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "paydrill-linux-amd64")
	content := []byte("#!/not/really/an/elf\n" + strings.Repeat("x", 10000))
	if err := os.WriteFile(bin, content, 0o755); err != nil {
		t.Fatal(err)
	}
	img := Image{
		Tags:       []string{"paydrill:test", "example.org/paydrill:v1"},
		Binary:     bin,
		Entrypoint: []string{"/paydrill"},
		Cmd:        []string{"serve", "gateway"},
		User:       "65534:65534",
		Dirs:       []Dir{{Path: "/data", UID: 65534, GID: 65534}, {Path: "var/lib/x", Mode: 0o700}},
		Labels:     map[string]string{"paydrill.image": "1"},
		Arch:       "amd64",
	}
	var buf bytes.Buffer
	if err := Write(&buf, img); err != nil {
		t.Fatal(err)
	}
	files, _, _ := readTar(t, buf.Bytes())

	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(manifest) != 1 || len(manifest[0].Layers) != 1 {
		t.Fatalf("manifest %+v: want one image with one layer", manifest)
	}
	m := manifest[0]
	if !reflect.DeepEqual(m.RepoTags, img.Tags) {
		t.Errorf("tags %v, want %v", m.RepoTags, img.Tags)
	}
	config, ok := files[m.Config]
	if !ok {
		t.Fatalf("config %s is not in the archive", m.Config)
	}
	sum := sha256.Sum256(config)
	if m.Config != hex.EncodeToString(sum[:])+".json" {
		t.Errorf("config named %s, its digest is %x", m.Config, sum)
	}
	layer, ok := files[m.Layers[0]]
	if !ok {
		t.Fatalf("layer %s is not in the archive", m.Layers[0])
	}
	var cfg struct {
		Architecture, OS string
		Config           struct {
			Entrypoint, Cmd []string
			User            string
			Labels          map[string]string
		}
		RootFS struct {
			Type    string
			DiffIDs []string `json:"diff_ids"`
		}
	}
	if err := json.Unmarshal(config, &cfg); err != nil {
		t.Fatalf("config: %v", err)
	}
	lsum := sha256.Sum256(layer)
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	if cfg.RootFS.Type != "layers" || len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != "sha256:"+hex.EncodeToString(lsum[:]) {
		t.Errorf("rootfs %+v, layer digest sha256:%x", cfg.RootFS, lsum)
	}
	if !reflect.DeepEqual(cfg.Config.Entrypoint, img.Entrypoint) || !reflect.DeepEqual(cfg.Config.Cmd, img.Cmd) ||
		cfg.Config.User != img.User || cfg.Config.Labels["paydrill.image"] != "1" {
		t.Errorf("config %+v", cfg.Config)
	}

	lfiles, lhdrs, order := readTar(t, layer)
	if !bytes.Equal(lfiles["paydrill"], content) {
		t.Errorf("the layer's /paydrill is not the binary")
	}
	if h := lhdrs["paydrill"]; h.Mode != 0o755 || h.Uid != 0 {
		t.Errorf("/paydrill mode %o uid %d", h.Mode, h.Uid)
	}
	if h := lhdrs["data/"]; h == nil || h.Typeflag != tar.TypeDir || h.Uid != 65534 || h.Gid != 65534 || h.Mode != 0o755 {
		t.Errorf("/data: %+v", h)
	}
	for _, d := range []string{"var/", "var/lib/"} {
		if h := lhdrs[d]; h == nil || h.Typeflag != tar.TypeDir || h.Uid != 0 {
			t.Errorf("parent %s: %+v", d, h)
		}
	}
	if h := lhdrs["var/lib/x/"]; h == nil || h.Mode != 0o700 {
		t.Errorf("var/lib/x: %+v", h)
	}
	seen := map[string]bool{}
	for _, n := range order {
		if p := filepath.Dir(strings.TrimSuffix(n, "/")); p != "." && !seen[p+"/"] {
			t.Errorf("%s comes before its parent %s/", n, p)
		}
		seen[n] = true
	}

	// The same input gives the same bytes (fixed timestamps): an import of
	// an unchanged image stores nothing new.
	var again bytes.Buffer
	if err := Write(&again, img); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two archives of the same image differ")
	}
}

func TestWriteRefuses(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "b")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string]Image{
		"no tag":     {Binary: bin},
		"no binary":  {Tags: []string{"a:b"}},
		"missing":    {Tags: []string{"a:b"}, Binary: bin + ".missing"},
		"a dir root": {Tags: []string{"a:b"}, Binary: bin, Dirs: []Dir{{Path: "/"}}},
		"a dir file": {Tags: []string{"a:b"}, Binary: filepath.Dir(bin)},
	} {
		if err := Write(io.Discard, img); err == nil {
			t.Errorf("%s: written", name)
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "b")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "img.tar")
	if err := WriteFile(out, Image{Tags: []string{"a:b"}, Binary: bin}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	files, _, _ := readTar(t, data)
	if _, ok := files["manifest.json"]; !ok {
		t.Error("no manifest.json")
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Error("the temporary file is left")
	}
}
