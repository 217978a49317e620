package load

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// stuckWriter blocks every Write until released, as a file does while the
// kernel throttles its writer.
type stuckWriter struct {
	release chan struct{}
	mu      sync.Mutex
	got     bytes.Buffer
	fail    error
}

func (s *stuckWriter) Write(p []byte) (int, error) {
	<-s.release
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	return s.got.Write(p)
}

// The load's writes return while the disk is stuck, and every line gets
// to the file, in order, by Close.
func TestBehindNeverWaitsForTheDisk(t *testing.T) {
	s := &stuckWriter{release: make(chan struct{})}
	b := newBehind(s)
	var want bytes.Buffer
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for i := range 10000 {
			line := fmt.Sprintf("order %d\n", i)
			want.WriteString(line)
			if _, err := b.Write([]byte(line)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	select {
	case <-wrote:
	case <-time.After(30 * time.Second):
		t.Fatal("10,000 writes did not return while the file was stuck")
	}
	close(s.release)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if s.got.String() != want.String() {
		t.Fatalf("the file got %d bytes, want the %d written, in order", s.got.Len(), want.Len())
	}
}

// A failed write to the file is not lost: later writes and Close report it.
func TestBehindReportsTheFilesError(t *testing.T) {
	full := errors.New("no space left on device")
	s := &stuckWriter{release: make(chan struct{}), fail: full}
	close(s.release)
	b := newBehind(s)
	if _, err := b.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); !errors.Is(err, full) {
		t.Fatalf("Close = %v, want the file's error %v", err, full)
	}
	if _, err := b.Write([]byte("late\n")); !errors.Is(err, full) {
		t.Fatalf("a write after the failure = %v, want %v", err, full)
	}
}
