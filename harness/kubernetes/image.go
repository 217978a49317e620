package kubernetes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"paydrill/internal/imagetar"
	"paydrill/internal/staticbin"
)

// The runtime's image: FROM scratch, the static paydrill binary as its
// entrypoint, an empty /data owned by the user every pod runs as. It is
// written as a docker-archive (internal/imagetar: no daemon, no
// registry), tagged paydrill:<content hash>, and imported into each node
// of paydrill's local cluster once; pods run it with imagePullPolicy
// Never. Another cluster's nodes must already hold it.
const imageRepo = "paydrill"

var images struct {
	sync.Mutex
	// imported are the refs this process has imported, by the cluster
	// they went into (its kube-system namespace's UID: a cluster taken
	// down and brought up again is a new one, with no image).
	imported map[string]bool
}

// kubeconfig is the kubeconfig the runtime uses and whether it is
// paydrill's local cluster's.
func (r Runtime) kubeconfig() (path string, local bool) {
	lc := ""
	if r.Local != nil {
		lc = r.Local.Kubeconfig()
	}
	path = r.Kubeconfig
	if path == "" {
		path = os.Getenv("KUBECONFIG")
	}
	if path == "" && lc != "" && fileExists(lc) {
		path = lc
	}
	if path == "" {
		if home, err := os.UserHomeDir(); err == nil {
			if p := filepath.Join(home, ".kube", "config"); fileExists(p) {
				path = p
			}
		}
	}
	if path == "" {
		return "", false
	}
	if lc == "" {
		return path, false
	}
	a, _ := filepath.Abs(path)
	b, _ := filepath.Abs(lc)
	return path, a == b
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ensureImage returns the image reference pods run, importing the image
// into the local cluster's nodes when they do not hold it yet.
func ensureImage(ctx context.Context, cs kubernetes.Interface, local LocalCluster, log io.Writer) (string, error) {
	bin, err := staticbin.Path(ctx, runtime.GOARCH, Name, log)
	if err != nil {
		return "", err
	}
	sum, err := fileHash(bin)
	if err != nil {
		return "", err
	}
	tag := imageRepo + ":" + sum[:16]
	ref := "docker.io/library/" + tag
	ks, err := cs.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading the cluster's identity: %w", err)
	}
	key := string(ks.UID) + " " + ref
	images.Lock()
	defer images.Unlock()
	if images.imported[key] {
		return ref, nil
	}
	have, err := nodesHave(ctx, cs, ref)
	if err != nil {
		return "", err
	}
	if have {
		return ref, nil
	}
	if local == nil {
		return "", fmt.Errorf("the nodes of this cluster do not hold the image %s: the kubernetes runtime imports its image only into paydrill's local cluster (paydrill cluster up)", ref)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	archive := filepath.Join(cache, "paydrill", "images", imageRepo+"-"+sum[:16]+".tar")
	if !fileExists(archive) {
		if err := os.MkdirAll(filepath.Dir(archive), 0o755); err != nil {
			return "", err
		}
		err := imagetar.WriteFile(archive, imagetar.Image{
			Tags: []string{tag}, Binary: bin, Entrypoint: []string{"/paydrill"},
			User:   fmt.Sprintf("%d:%d", runAsUser, runAsUser),
			Dirs:   []imagetar.Dir{{Path: "/data", UID: int(runAsUser), GID: int(runAsUser)}},
			Labels: map[string]string{"paydrill.image": "1", "paydrill.content": sum},
		})
		if err != nil {
			return "", fmt.Errorf("writing the image %s: %w", tag, err)
		}
	}
	if log != nil {
		fmt.Fprintf(log, "kubernetes: importing %s into the local cluster's nodes\n", tag)
	}
	if err := local.ImportImage(ctx, archive); err != nil {
		return "", fmt.Errorf("importing %s: %w", tag, err)
	}
	if images.imported == nil {
		images.imported = map[string]bool{}
	}
	images.imported[key] = true
	return ref, nil
}

// nodesHave says whether every schedulable node reports holding ref.
func nodesHave(ctx context.Context, cs kubernetes.Interface, ref string) (bool, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("listing nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return false, fmt.Errorf("the cluster has no node")
	}
	for _, n := range nodes.Items {
		found := false
		for _, im := range n.Status.Images {
			if slices.Contains(im.Names, ref) {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

func fileHash(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
