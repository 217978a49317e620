package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a process Up started, as the state file records it: Down signals
// PID only while /proc/PID/cmdline is still Argv (a PID the kernel gave to
// another process since is left alone).
type proc struct {
	Name string   `json:"name"`
	PID  int      `json:"pid"`
	Argv []string `json:"argv"`
	Log  string   `json:"log"`
}

// child is a process started by this Cluster value: waited for in the
// background so that one that dies is reaped (not left a zombie that
// /proc still lists).
type child struct {
	done chan struct{}
	err  error
}

// start runs argv in its own session (it outlives this process), its
// output appended to Dir/logs/<name>.log.
func (c *Cluster) start(name string, argv []string, env []string) (proc, error) {
	logPath := filepath.Join(c.dir(), "logs", name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return proc{}, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return proc{}, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return proc{}, fmt.Errorf("starting %s: %w", name, err)
	}
	ch := &child{done: make(chan struct{})}
	go func() {
		ch.err = cmd.Wait()
		close(ch.done)
	}()
	c.mu.Lock()
	if c.children == nil {
		c.children = map[int]*child{}
	}
	c.children[cmd.Process.Pid] = ch
	c.mu.Unlock()
	return proc{Name: name, PID: cmd.Process.Pid, Argv: argv, Log: logPath}, nil
}

// running reports whether p is still the process Up started: alive, not a
// zombie, and running the same command line.
func (c *Cluster) running(p proc) bool {
	if p.PID <= 0 {
		return false
	}
	c.mu.Lock()
	ch := c.children[p.PID]
	c.mu.Unlock()
	if ch != nil {
		// Our own child: its Wait says when it ends (its /proc/PID/cmdline
		// may read empty for an instant right after exec).
		select {
		case <-ch.done:
			return false
		default:
			return true
		}
	}
	return cmdlineIs(p.PID, p.Argv)
}

// cmdlineIs reports whether process pid runs argv and is not a zombie.
func cmdlineIs(pid int, argv []string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	for try := 0; err == nil && len(data) == 0 && try < 5 && procState(pid) != "Z"; try++ {
		// Empty for an instant right after exec: read it again.
		time.Sleep(20 * time.Millisecond)
		data, err = os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	}
	if err != nil || len(data) == 0 {
		return false
	}
	if string(bytes.TrimSuffix(data, []byte{0})) != strings.Join(argv, "\x00") {
		return false
	}
	return procState(pid) != "Z"
}

// procState is the state letter of /proc/PID/stat ("" when gone).
func procState(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// pid (comm) S ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return ""
	}
	return string(data[i+2])
}

// stop ends p if it is still ours: SIGTERM, then SIGKILL after grace. It
// returns once the process is gone (or after grace+5s, with an error).
func (c *Cluster) stop(p proc, grace time.Duration) error {
	if !c.running(p) {
		return nil
	}
	if err := syscall.Kill(p.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping %s (pid %d): %w", p.Name, p.PID, err)
	}
	began := time.Now()
	if c.waitGone(p, grace) {
		if d := time.Since(began); d > time.Second {
			c.logf("%s took %.1fs to stop", p.Name, d.Seconds())
		}
		return nil
	}
	c.logf("%s (pid %d) still runs %s after SIGTERM: SIGKILL", p.Name, p.PID, grace)
	if c.running(p) {
		syscall.Kill(p.PID, syscall.SIGKILL)
	}
	if c.waitGone(p, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("%s (pid %d) still runs 5s after SIGKILL", p.Name, p.PID)
}

// waitGone waits up to d for p to end, reaping it when this value started it.
func (c *Cluster) waitGone(p proc, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !c.running(p) {
			c.mu.Lock()
			ch := c.children[p.PID]
			delete(c.children, p.PID)
			c.mu.Unlock()
			if ch != nil {
				select {
				case <-ch.done:
				case <-time.After(time.Second):
				}
			}
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killPID sends SIGKILL to pid when its command line passes ok (a process
// found through our state, checked before the signal), and waits up to 5s
// for it to go.
func killPID(pid int, ok func(cmdline []string) bool) bool {
	if pid <= 1 || pid == os.Getpid() {
		return false
	}
	cl := cmdline(pid)
	if cl == nil || !ok(cl) {
		return false
	}
	syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s := procState(pid); s == "" || s == "Z" {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// cmdline is /proc/PID/cmdline split into its arguments (nil when gone).
func cmdline(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimSuffix(data, []byte{0})), "\x00")
}

// allPIDs lists every process's PID.
func allPIDs() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
