package kubernetes

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// annotationCordoned marks a node a run cordoned or took out with a zone
// outage, with the run's namespace, so Clean can give back the nodes of
// a run killed before it lifted its fault.
const annotationCordoned = "paydrill.io/cordoned-by"

// liveRoot is the host directory a run's stores live in while it runs on
// the local cluster (whose nodes are this host): memory (/dev/shm), as
// the embedded runtime keeps its stores, when there is one.
func liveRoot(ns string) string {
	base := os.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	return filepath.Join(base, liveRootPrefix+ns)
}

const liveRootPrefix = "paydrill-k8s-"

// Clean removes what runs on the cluster left behind: every namespace
// labelled paydrill.run (runs still going lose theirs too), the zone
// outages and cordons of runs killed before they lifted them, and the
// host directories of the local cluster's runs' stores. It says what it
// removed on w. No cluster answering is not an error: there is nothing
// to clean there.
func (r Runtime) Clean(ctx context.Context, w io.Writer) error {
	_, cs, local, err := r.connect(ctx)
	if err != nil {
		return nil
	}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: labelRun})
	if err != nil {
		return fmt.Errorf("kubernetes: listing namespaces: %w", err)
	}
	var removed []string
	for _, ns := range nss.Items {
		if err := deleteNamespace(ctx, cs, ns.Name); err != nil {
			return err
		}
		removed = append(removed, ns.Name)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("kubernetes: listing nodes: %w", err)
	}
	var given []string
	for _, n := range nodes.Items {
		if _, ok := n.Annotations[annotationCordoned]; !ok {
			continue
		}
		node := n.DeepCopy()
		var taints = node.Spec.Taints[:0]
		for _, t := range node.Spec.Taints {
			if t.Key != taintZoneOutage {
				taints = append(taints, t)
			}
		}
		node.Spec.Taints = taints
		node.Spec.Unschedulable = false
		delete(node.Annotations, annotationCordoned)
		if _, err := cs.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kubernetes: giving back node %s: %w", n.Name, err)
		}
		given = append(given, n.Name)
	}
	var dirs []string
	if local {
		for _, base := range []string{"/dev/shm", os.TempDir()} {
			matches, _ := filepath.Glob(filepath.Join(base, liveRootPrefix+"*"))
			for _, m := range matches {
				if err := os.RemoveAll(m); err == nil {
					dirs = append(dirs, m)
				}
			}
		}
	}
	if len(removed)+len(given)+len(dirs) == 0 {
		fmt.Fprintln(w, "kubernetes: nothing to remove")
		return nil
	}
	if len(removed) > 0 {
		fmt.Fprintf(w, "kubernetes: removed %d namespaces: %s\n", len(removed), strings.Join(removed, ", "))
	}
	if len(given) > 0 {
		fmt.Fprintf(w, "kubernetes: gave back nodes a killed run had cordoned: %s\n", strings.Join(given, ", "))
	}
	if len(dirs) > 0 {
		fmt.Fprintf(w, "kubernetes: removed the stores of killed runs: %s\n", strings.Join(dirs, ", "))
	}
	return nil
}

// markNode sets (or, with on false, removes) the annotation naming the
// run that cordoned node.
func (r *run) markNode(ctx context.Context, node string, on bool) error {
	v := "null"
	if on {
		v = fmt.Sprintf("%q", r.ns)
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, annotationCordoned, v)
	_, err := r.cs.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}
