package cluster

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Down stops the cluster and removes everything Up made (see the package
// comment); the binaries stay. Without a recorded cluster it only removes
// what Up would have made in Dir. It is safe to call twice.
func (c *Cluster) Down(ctx context.Context) error {
	c.began = time.Now()
	defer func() { c.began = time.Time{} }()
	st, err := c.loadState()
	if err != nil {
		return err
	}
	if st == nil {
		if err := removeOwned(c.dir(), false); err != nil {
			return err
		}
		c.logf("not up: nothing recorded in %s", c.dir())
		return nil
	}
	if err := c.down(ctx, st, false); err != nil {
		return err
	}
	c.logf("cluster down: nothing of it is left")
	return nil
}

// down tears st's cluster down, in order: the control loops, the pods
// (while the kubelets and containerds still run, so the CNI plugins undo
// their own work), the kubelets, the containerds and whatever their shims
// still run, kube-proxy, the apiserver and etcd, then what the host keeps.
// It goes on past errors and returns them all, then checks nothing is left.
// keepLogs leaves Dir/logs (after a failed Up, for the user to read).
func (c *Cluster) down(ctx context.Context, st *state, keepLogs bool) error {
	l := layout{st.Dir}
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	stopNamed := func(name string, grace time.Duration) {
		if p, ok := st.proc(name); ok {
			note(c.stop(p, grace))
		}
	}

	// 1. No controller recreates what is deleted, no pod is scheduled.
	stopNamed("kube-controller-manager", 10*time.Second)
	stopNamed("kube-scheduler", 10*time.Second)

	// 2. The pods, through the kubelets.
	if c.apiReady(ctx, st) {
		if err := c.deletePods(ctx, st); err != nil {
			c.logf("deleting the pods: %v (going on: their containers are removed below)", err)
		} else {
			c.logf("pods deleted, their sandboxes and addresses released")
		}
	}

	// 3. The kubelets.
	for _, n := range st.Nodes {
		stopNamed(procName(n, "kubelet"), 15*time.Second)
	}

	// 4. Each containerd, after what it still runs (a kubelet that could
	// not tear its pods down), then the shims left by its SIGTERM.
	var netns []string
	var taskIDs []string
	for _, n := range st.Nodes {
		sock := l.socket(n.Name)
		taskIDs = append(taskIDs, shimTaskIDs(l, n)...)
		if p, ok := st.proc(procName(n, "containerd")); ok && c.running(p) {
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			ns, err := removeContainers(cctx, sock)
			cancel()
			netns = append(netns, ns...)
			if err != nil {
				c.logf("%s: removing containers: %v", n.Name, err)
			}
			note(c.stop(p, 10*time.Second))
		}
		for _, pid := range ourShims(l, n) {
			killPID(pid, func(cl []string) bool { return isShimOf(cl, sock) })
		}
	}
	if len(st.Nodes) > 0 {
		c.logf("kubelets and containerds stopped")
	}

	// 5. kube-proxy, the apiserver, etcd (and anything recorded besides).
	stopNamed("kube-proxy", 10*time.Second)
	stopNamed("kube-apiserver", 5*time.Second) // its state goes with etcd's: no need to drain
	stopNamed("etcd", 15*time.Second)
	for _, p := range st.Procs {
		note(c.stop(p, 5*time.Second))
	}

	// 6. What the host keeps.
	c.timed("kube-proxy's nft tables", func() {
		for _, t := range nftTables(ctx) {
			_, err := run(ctx, "nft", append([]string{"delete", "table"}, strings.Fields(t)...)...)
			note(err)
		}
	})
	c.timed("the CNI iptables rules", func() { note(removeCNIRules(ctx, st)) })
	c.timed("the bridges", func() {
		for _, ns := range netns {
			note(removeNetns(ns))
		}
		for _, br := range bridges(st) {
			if linkExists(br) {
				_, err := run(ctx, "ip", "link", "delete", br)
				note(err)
			}
		}
	})
	c.timed("the mounts", func() { note(unmountUnder(st.Dir)) })
	c.timed("the cgroups", func() {
		for _, n := range st.Nodes {
			note(removeCgroup(n.CgroupRoot))
		}
	})
	removeHostFiles(st, taskIDs, l)
	if slices.Contains(st.Created, kubeletDevicePlugins) {
		for _, f := range []string{"kubelet.sock", "kubelet_internal_checkpoint"} {
			os.Remove(filepath.Join(kubeletDevicePlugins, f))
		}
	}
	created := slices.Clone(st.Created)
	slices.SortFunc(created, func(a, b string) int { return depth(b) - depth(a) })
	for _, d := range created {
		os.Remove(d) // only when empty
	}
	c.logf("bridges, nft tables, CNI chains, mounts, namespaces and cgroups removed")

	// 7. The state.
	if len(errs) == 0 {
		note(removeOwned(st.Dir, keepLogs))
	}
	if left := leftovers(ctx, c, st, netns, keepLogs); len(left) > 0 {
		errs = append(errs, fmt.Errorf("left behind: %s", strings.Join(left, "; ")))
	}
	if len(errs) > 0 {
		return fmt.Errorf("taking the cluster in %s down: %w", st.Dir, errors.Join(errs...))
	}
	return nil
}

// timed runs f and says how long it took when that was over a second.
func (c *Cluster) timed(what string, f func()) {
	began := time.Now()
	f()
	if d := time.Since(began); d > time.Second {
		c.logf("removing %s took %.1fs", what, d.Seconds())
	}
}

// apiReady reports whether the apiserver answers (a short wait).
func (c *Cluster) apiReady(ctx context.Context, st *state) bool {
	tlsc, err := loadAdminTLS(filepath.Join(st.Dir, "pki"))
	if err != nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	body, err := httpGet(cctx, tlsc, st.apiURL()+"/readyz")
	return err == nil && body == "ok"
}

// deletePods deletes every pod and waits until the kubelets have stopped
// them and the CNI plugins released their addresses (every node's
// host-local store empty): then their veths, netns and iptables rules are
// gone too.
func (c *Cluster) deletePods(ctx context.Context, st *state) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	grace := int64(3)
	for _, ns := range nss.Items {
		if err := cs.CoreV1().Pods(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &grace}, metav1.ListOptions{}); err != nil {
			return fmt.Errorf("deleting the pods of %s: %w", ns.Name, err)
		}
	}
	l := layout{st.Dir}
	deadline := time.Now().Add(60 * time.Second)
	for {
		pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err == nil && len(pods.Items) == 0 && allocatedIPs(l, st) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			n := -1
			if err == nil {
				n = len(pods.Items)
			}
			return fmt.Errorf("timed out after 60s waiting for the pods to go (%d left) and their addresses to be released (%d held)", n, allocatedIPs(l, st))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// allocatedIPs counts the addresses host-local holds for our pods.
func allocatedIPs(l layout, st *state) int {
	n := 0
	for _, node := range st.Nodes {
		ents, _ := os.ReadDir(filepath.Join(l.cniIPAM(node.Name), node.Network))
		for _, e := range ents {
			if net.ParseIP(e.Name()) != nil {
				n++
			}
		}
	}
	return n
}

// taskDir is where node's containerd keeps each task's bundle (shim.pid,
// init.pid) under its own state directory.
func taskDir(l layout, n nodeState) string {
	return filepath.Join(l.containerd(n.Name), "state", "io.containerd.runtime.v2.task", "k8s.io")
}

func shimTaskIDs(l layout, n nodeState) []string {
	ents, _ := os.ReadDir(taskDir(l, n))
	var ids []string
	for _, e := range ents {
		ids = append(ids, e.Name())
	}
	return ids
}

// ourShims are the containerd-shim processes of node's containerd: the
// PIDs its task bundles record, and any process running a shim whose
// -address is node's socket (inside Dir: nothing else can have it).
func ourShims(l layout, n nodeState) []int {
	sock := l.socket(n.Name)
	var pids []int
	for _, id := range shimTaskIDs(l, n) {
		data, err := os.ReadFile(filepath.Join(taskDir(l, n), id, "shim.pid"))
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && isShimOf(cmdline(pid), sock) {
			pids = append(pids, pid)
		}
	}
	for _, pid := range allPIDs() {
		if isShimOf(cmdline(pid), sock) && !slices.Contains(pids, pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// isShimOf reports whether a command line is a containerd shim serving
// the containerd listening on sock.
func isShimOf(cl []string, sock string) bool {
	if len(cl) == 0 || !strings.Contains(filepath.Base(cl[0]), "containerd-shim") {
		return false
	}
	for i := 0; i+1 < len(cl); i++ {
		if cl[i] == "-address" && cl[i+1] == sock {
			return true
		}
	}
	return false
}

// bridges are the links of st's cluster: the node IPs' and each node's
// CNI bridge.
func bridges(st *state) []string {
	out := []string{st.HostBridge}
	for _, n := range st.Nodes {
		out = append(out, n.Bridge)
	}
	return out
}

// removeHostFiles removes the files our components left outside Dir: the
// kubelets' links in /var/log/containers into our pod logs, the CNI result
// cache of our networks, and the sockets of our shims (containerd 1.6
// puts them in /run/containerd/s, named by a hash of its own socket, the
// namespace and the task: computed here, not guessed).
func removeHostFiles(st *state, taskIDs []string, l layout) {
	prefix := st.Dir + "/"
	if ents, err := os.ReadDir("/var/log/containers"); err == nil {
		for _, e := range ents {
			p := filepath.Join("/var/log/containers", e.Name())
			if t, err := os.Readlink(p); err == nil && strings.HasPrefix(t, prefix) {
				os.Remove(p)
			}
		}
	}
	if ents, err := os.ReadDir("/var/lib/cni/results"); err == nil {
		for _, e := range ents {
			for _, n := range st.Nodes {
				if strings.HasPrefix(e.Name(), n.Network+"-") {
					os.Remove(filepath.Join("/var/lib/cni/results", e.Name()))
				}
			}
		}
	}
	for _, n := range st.Nodes {
		for _, id := range taskIDs {
			sum := sha256.Sum256([]byte(filepath.Join(l.socket(n.Name), "k8s.io", id)))
			p := fmt.Sprintf("/run/containerd/s/%x", sum)
			if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
				os.Remove(p)
			}
		}
	}
}

// removeOwned removes what Up makes in dir (and dir when that leaves it
// empty), but for the logs when keepLogs; nothing else in dir is touched.
func removeOwned(dir string, keepLogs bool) error {
	if left := mountsUnder(dir); len(left) > 0 {
		return fmt.Errorf("not removing %s: still mounted inside: %s", dir, strings.Join(left, ", "))
	}
	var errs []error
	for _, name := range owned {
		if keepLogs && name == "logs" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			errs = append(errs, err)
		}
	}
	os.Remove(dir) // only when empty
	return errors.Join(errs...)
}

// leftovers lists whatever of st's cluster still exists: a process, a
// shim, a bridge, an nft table, a CNI rule, a mount under Dir, a cgroup, a
// network namespace, the state directory. Down's last check, and the
// lifecycle test's.
func leftovers(ctx context.Context, c *Cluster, st *state, netns []string, keepLogs bool) []string {
	var left []string
	l := layout{st.Dir}
	for _, p := range st.Procs {
		if c.running(p) {
			left = append(left, fmt.Sprintf("process %s (pid %d)", p.Name, p.PID))
		}
	}
	for _, n := range st.Nodes {
		for _, pid := range ourShims(l, n) {
			left = append(left, fmt.Sprintf("%s's shim (pid %d)", n.Name, pid))
		}
		for _, pid := range cgroupProcs(n.CgroupRoot) {
			left = append(left, fmt.Sprintf("process %d in %s's cgroup", pid, n.Name))
		}
		if dirs := cgroupDirs(n.CgroupRoot); len(dirs) > 0 {
			left = append(left, "cgroups "+strings.Join(dirs, ", "))
		}
	}
	for _, br := range bridges(st) {
		if linkExists(br) {
			left = append(left, "bridge "+br)
		}
	}
	for _, t := range nftTables(ctx) {
		left = append(left, "nft table "+t)
	}
	jumps, chains, forward := ourCNIRules(ctx, st)
	for _, r := range append(append(jumps, chains...), forward...) {
		left = append(left, "iptables "+r)
	}
	if cniSkeletonOnly(ctx) {
		left = append(left, "the empty iptables chains CNI-FORWARD and CNI-ADMIN")
	}
	for _, m := range mountsUnder(st.Dir) {
		left = append(left, "mount "+m)
	}
	for _, ns := range netns {
		if _, err := os.Lstat(ns); err == nil {
			left = append(left, "netns "+ns)
		}
	}
	for _, d := range st.Created {
		if ents, err := os.ReadDir(d); err == nil && len(ents) == 0 {
			left = append(left, "the empty directory "+d)
		}
	}
	for _, name := range owned {
		if keepLogs && name == "logs" {
			continue
		}
		if _, err := os.Lstat(filepath.Join(st.Dir, name)); err == nil {
			left = append(left, filepath.Join(st.Dir, name))
		}
	}
	return left
}
