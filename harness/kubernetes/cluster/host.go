package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What the cluster makes on the host besides its processes: a bridge
// holding the node IPs, cgroup roots, and (through the CNI plugins and
// kube-proxy) bridges, iptables chains, nft tables, network namespaces and
// mounts. Each is made or found here, and removed by name: only ours.

// requirement is one program the cluster runs, and the Debian package
// that installs it.
type requirement struct {
	path, pkg string
	lookPath  bool // found on PATH (its directory differs between releases)
}

var requirements = []requirement{
	{"/usr/bin/etcd", "etcd-server", false},
	{"/usr/bin/containerd", "containerd", false},
	{"/usr/bin/ctr", "containerd", false},
	{runcBinary, "runc", false},
	{filepath.Join(cniBinDir, "bridge"), "containernetworking-plugins", false},
	{filepath.Join(cniBinDir, "host-local"), "containernetworking-plugins", false},
	{filepath.Join(cniBinDir, "loopback"), "containernetworking-plugins", false},
	{filepath.Join(cniBinDir, "firewall"), "containernetworking-plugins", false},
	{"nft", "nftables", true},
	{"iptables", "iptables", true},
	{"conntrack", "conntrack", true},
	{"ip", "iproute2", true},
}

// DebianPackages are the packages a local cluster needs installed.
func DebianPackages() []string {
	seen := map[string]bool{}
	var pkgs []string
	for _, r := range requirements {
		if !seen[r.pkg] {
			seen[r.pkg] = true
			pkgs = append(pkgs, r.pkg)
		}
	}
	return pkgs
}

// ErrMissing is wrapped by Up's error when a program or root is missing.
var ErrMissing = errors.New("missing prerequisite")

// checkPrerequisites says what is missing, naming the Debian packages.
func checkPrerequisites() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: a local cluster runs containerd, kubelets and bridges, which needs root (run as root)", ErrMissing)
	}
	var missing []string
	pkgs := map[string]bool{}
	for _, r := range requirements {
		ok := false
		if r.lookPath {
			_, err := exec.LookPath(r.path)
			ok = err == nil
		} else if fi, err := os.Stat(r.path); err == nil && fi.Mode()&0o111 != 0 {
			ok = true
		}
		if !ok {
			missing = append(missing, r.path)
			pkgs[r.pkg] = true
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s not found: apt-get install %s", ErrMissing, strings.Join(missing, ", "), strings.Join(sortedKeys(pkgs), " "))
	}
	return nil
}

// run runs a host tool with a timeout and returns its standard output
// (iptables warns on stderr about legacy tables: not part of what it
// lists); the error holds what it printed on both.
func run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err,
			strings.TrimSpace(stdout.String()+" "+stderr.String()))
	}
	return stdout.String(), nil
}

// checkAddressesFree refuses a cluster whose networks some interface
// already uses (another local cluster, or a network of the host).
func checkAddressesFree(st *state) error {
	ours := map[string]bool{st.HostBridge: true}
	for _, n := range st.Nodes {
		ours[n.Bridge] = true
	}
	_, pods, _ := net.ParseCIDR(podNetwork)
	_, nodes, _ := net.ParseCIDR(nodeNetwork)
	_, svcs, _ := net.ParseCIDR(serviceNetwork)
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, ifc := range ifs {
		if ours[ifc.Name] {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			for _, nw := range []*net.IPNet{pods, nodes, svcs} {
				if nw.Contains(ipn.IP) || ipn.Contains(nw.IP) {
					return fmt.Errorf("interface %s has %s, inside the local cluster's network %s: another cluster (a second --dir?) or a host network uses it", ifc.Name, ipn, nw)
				}
			}
		}
	}
	return nil
}

func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// makeHostBridge creates the bridge holding every node's IP (a /32 each).
func makeHostBridge(ctx context.Context, st *state) error {
	if !linkExists(st.HostBridge) {
		if _, err := run(ctx, "ip", "link", "add", st.HostBridge, "type", "bridge"); err != nil {
			return err
		}
	}
	if _, err := run(ctx, "ip", "link", "set", st.HostBridge, "up"); err != nil {
		return err
	}
	for _, n := range st.Nodes {
		out, _ := run(ctx, "ip", "-o", "addr", "show", "dev", st.HostBridge)
		if strings.Contains(out, " "+n.IP+"/32 ") {
			continue
		}
		if _, err := run(ctx, "ip", "addr", "add", n.IP+"/32", "dev", st.HostBridge); err != nil {
			return err
		}
	}
	return nil
}

// cgroupMounts are the mount points of every cgroup hierarchy (v1
// controllers, name=systemd, the unified v2 one).
func cgroupMounts() (v1 []string, v2 []string) {
	for _, m := range mounts() {
		switch m.fstype {
		case "cgroup":
			v1 = append(v1, m.point)
		case "cgroup2":
			v2 = append(v2, m.point)
		}
	}
	return v1, v2
}

// makeCgroup creates root in every hierarchy (kubelet exits with "cgroup
// [...] has some missing paths" otherwise), cpuset's cpus and mems copied
// from its parent. On a pure cgroup v2 host it is one directory whose
// parent delegates its controllers.
func makeCgroup(root string) error {
	v1, v2 := cgroupMounts()
	for _, m := range v1 {
		p := filepath.Join(m, root)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("cgroup %s: %w", p, err)
		}
		if _, err := os.Stat(filepath.Join(m, "cpuset.cpus")); err == nil {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				data, err := os.ReadFile(filepath.Join(m, f))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(p, f), data, 0o644); err != nil {
					return fmt.Errorf("cgroup %s/%s: %w", p, f, err)
				}
			}
		}
	}
	if len(v1) == 0 {
		for _, m := range v2 {
			if err := os.MkdirAll(filepath.Join(m, root), 0o755); err != nil {
				return fmt.Errorf("cgroup %s: %w", filepath.Join(m, root), err)
			}
			if ctrls, err := os.ReadFile(filepath.Join(m, "cgroup.controllers")); err == nil {
				var enable []string
				for _, c := range strings.Fields(string(ctrls)) {
					enable = append(enable, "+"+c)
				}
				// Best effort: the root usually delegates them already.
				os.WriteFile(filepath.Join(m, "cgroup.subtree_control"), []byte(strings.Join(enable, " ")), 0o644)
			}
		}
	}
	return nil
}

// cgroupProcs lists every process in root's tree, in every hierarchy.
func cgroupProcs(root string) []int {
	v1, v2 := cgroupMounts()
	seen := map[int]bool{}
	var pids []int
	for _, m := range append(v1, v2...) {
		filepath.WalkDir(filepath.Join(m, root), func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			data, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
					seen[pid] = true
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// cgroupDirs lists root's tree in every hierarchy, deepest first.
func cgroupDirs(root string) []string {
	v1, v2 := cgroupMounts()
	var dirs []string
	for _, m := range append(v1, v2...) {
		filepath.WalkDir(filepath.Join(m, root), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return depth(dirs[i]) > depth(dirs[j]) })
	return dirs
}

// removeCgroup kills whatever still runs in root's tree (only container
// processes of our nodes live there) and removes it, deepest first.
func removeCgroup(root string) error {
	if root == "" || root == "/" {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, pid := range cgroupProcs(root) {
			killPID(pid, func([]string) bool { return true })
		}
		var left []string
		for _, d := range cgroupDirs(root) {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				left = append(left, d)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroups not removed after 10s: %s", strings.Join(left, ", "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type mount struct{ point, fstype, root string }

// mounts parses /proc/self/mountinfo.
func mounts() []mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		if len(fields) < 7 {
			continue
		}
		m := mount{root: unescapeMount(fields[3]), point: unescapeMount(fields[4])}
		for i := 6; i < len(fields)-1; i++ {
			if fields[i] == "-" {
				m.fstype = fields[i+1]
				break
			}
		}
		out = append(out, m)
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountsUnder lists the mount points inside dir, deepest first.
func mountsUnder(dir string) []string {
	var pts []string
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for _, m := range mounts() {
		if strings.HasPrefix(m.point, prefix) {
			pts = append(pts, m.point)
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return depth(pts[i]) > depth(pts[j]) })
	return pts
}

// unmountUnder unmounts everything mounted inside dir (overlay root
// filesystems, kubelet's tmpfs secret volumes, shm), deepest first; a busy
// one is detached.
func unmountUnder(dir string) error {
	var errs []string
	for pass := 0; pass < 3; pass++ {
		pts := mountsUnder(dir)
		if len(pts) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, p := range pts {
			if err := syscall.Unmount(p, 0); err != nil {
				if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
					errs = append(errs, fmt.Sprintf("%s: %v", p, err))
				}
			}
		}
	}
	if left := mountsUnder(dir); len(left) > 0 {
		return fmt.Errorf("still mounted under %s: %s %s", dir, strings.Join(left, ", "), strings.Join(errs, "; "))
	}
	return nil
}

// removeNetns removes a network namespace's bind mount (/var/run/netns/X)
// and its file; the namespace goes with its last process, and the pod's
// veth with it.
func removeNetns(path string) error {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := syscall.Unmount(path, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("unmounting %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }

// nftTables lists kube-proxy's tables that exist ("ip kube-proxy",
// "ip6 kube-proxy").
func nftTables(ctx context.Context) []string {
	var out []string
	for _, fam := range []string{"ip", "ip6"} {
		if _, err := run(ctx, "nft", "list", "table", fam, "kube-proxy"); err == nil {
			out = append(out, fam+" kube-proxy")
		}
	}
	return out
}

// iptablesLines is `iptables -S CHAIN` of table, or nil when the chain
// does not exist.
func iptablesLines(ctx context.Context, table, chain string) []string {
	out, err := run(ctx, "iptables", "-w", "5", "-t", table, "-S", chain)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(out), "\n")
}

// iptablesDelete deletes the rule `-A ...` (as iptables -S prints it).
func iptablesDelete(ctx context.Context, table, rule string) error {
	args := splitRule(rule)
	if len(args) < 2 || args[0] != "-A" {
		return fmt.Errorf("not a rule: %q", rule)
	}
	args[0] = "-D"
	_, err := run(ctx, "iptables", append([]string{"-w", "5", "-t", table}, args...)...)
	return err
}

// splitRule splits an iptables -S line into arguments: double quotes group
// (a comment holding spaces), backslash escapes the next character.
func splitRule(s string) []string {
	var args []string
	var cur strings.Builder
	in, has := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			has = true
		case ch == '"':
			in = !in
			has = true
		case ch == ' ' && !in:
			if has {
				args = append(args, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteByte(ch)
			has = true
		}
	}
	if has {
		args = append(args, cur.String())
	}
	return args
}

// ruleTarget is a rule's -j target.
func ruleTarget(args []string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-j" {
			return args[i+1]
		}
	}
	return ""
}

// cniSkeletonOnly reports whether the firewall plugin's chains exist and
// hold nothing but each other: no pod of any CNI network uses them.
func cniSkeletonOnly(ctx context.Context) bool {
	fwd := iptablesLines(ctx, "filter", "CNI-FORWARD")
	if fwd == nil {
		return false
	}
	for _, r := range fwd {
		if r != "-N CNI-FORWARD" && ruleTarget(splitRule(r)) != "CNI-ADMIN" {
			return false
		}
	}
	for _, r := range iptablesLines(ctx, "filter", "CNI-ADMIN") {
		if r != "-N CNI-ADMIN" {
			return false
		}
	}
	return true
}

// ourCNIRules finds what the CNI plugins of our networks left in iptables:
// the bridge plugin's masquerading (a POSTROUTING jump commented with our
// network's name, to a chain per pod) and the firewall plugin's accepts of
// our pods' addresses in CNI-FORWARD.
func ourCNIRules(ctx context.Context, st *state) (natJumps []string, natChains []string, forward []string) {
	var nets []*net.IPNet
	var names []string
	for _, n := range st.Nodes {
		names = append(names, `name: "`+n.Network+`"`)
		if _, nw, err := net.ParseCIDR(n.PodCIDR); err == nil {
			nets = append(nets, nw)
		}
	}
	for _, r := range iptablesLines(ctx, "nat", "POSTROUTING") {
		args := splitRule(r)
		joined := strings.Join(args, " ")
		for _, nm := range names {
			if strings.Contains(joined, nm) {
				natJumps = append(natJumps, r)
				if t := ruleTarget(args); strings.HasPrefix(t, "CNI-") {
					natChains = append(natChains, t)
				}
				break
			}
		}
	}
	for _, r := range iptablesLines(ctx, "filter", "CNI-FORWARD") {
		args := splitRule(r)
		for i := 0; i+1 < len(args); i++ {
			if args[i] != "-s" && args[i] != "-d" {
				continue
			}
			ip, _, err := net.ParseCIDR(args[i+1])
			if err != nil {
				ip = net.ParseIP(args[i+1])
			}
			for _, nw := range nets {
				if ip != nil && nw.Contains(ip) {
					forward = append(forward, r)
					i = len(args)
					break
				}
			}
		}
	}
	return natJumps, natChains, forward
}

// removeCNIRules removes our CNI iptables rules and chains, and the
// firewall plugin's own chains once they hold no pod's rule (the plugin
// makes them again at its next pod).
func removeCNIRules(ctx context.Context, st *state) error {
	var errs []error
	jumps, chains, forward := ourCNIRules(ctx, st)
	for _, r := range jumps {
		if err := iptablesDelete(ctx, "nat", r); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ch := range chains {
		run(ctx, "iptables", "-w", "5", "-t", "nat", "-F", ch)
		if _, err := run(ctx, "iptables", "-w", "5", "-t", "nat", "-X", ch); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range forward {
		if err := iptablesDelete(ctx, "filter", r); err != nil {
			errs = append(errs, err)
		}
	}
	if cniSkeletonOnly(ctx) {
		for _, r := range iptablesLines(ctx, "filter", "FORWARD") {
			if ruleTarget(splitRule(r)) == "CNI-FORWARD" {
				if err := iptablesDelete(ctx, "filter", r); err != nil {
					errs = append(errs, err)
				}
			}
		}
		for _, ch := range []string{"CNI-FORWARD", "CNI-ADMIN"} {
			run(ctx, "iptables", "-w", "5", "-t", "filter", "-F", ch)
			run(ctx, "iptables", "-w", "5", "-t", "filter", "-X", ch)
		}
	}
	return errors.Join(errs...)
}
