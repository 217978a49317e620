package cli

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestPauseHelperProcess is not a test: TestPauseExitsZeroOnSignal runs
// the test binary again as `paydrill pause` through it.
func TestPauseHelperProcess(t *testing.T) {
	if os.Getenv("PAYDRILL_TEST_PAUSE") != "1" {
		t.Skip("a helper process of TestPauseExitsZeroOnSignal")
	}
	ready := make(chan struct{})
	go func() {
		<-ready
		fmt.Println("ready")
	}()
	pause(ready)
	os.Exit(0)
}

// A pod sandbox's process waits until it is told to stop and then exits
// 0, whether told by SIGTERM (the runtime stopping the pod) or SIGINT.
func TestPauseExitsZeroOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPauseHelperProcess$")
		cmd.Env = append(os.Environ(), "PAYDRILL_TEST_PAUSE=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || line != "ready\n" {
			t.Fatalf("the pause process said %q (%v)", line, err)
		}
		// Still running a moment later: it waits, it does not just exit.
		time.Sleep(100 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("pause exited before any signal: %v", err)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("after %v: %v, want exit 0", sig, err)
			}
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("pause did not exit within 5s of %v", sig)
		}
	}
}
