package load

import (
	"io"
	"sync"
)

// behind is a writer that never makes its caller wait for the disk:
// Write appends to memory, and a goroutine of its own writes what has
// gathered to w. The load writes every order it sends and every answer
// it gets; written straight to a file (even through a bufio.Writer, at
// each flush), a write waits whenever the kernel throttles this process
// while it writes back dirty pages, and the orders behind it leave late
// and then all at once: beside a process writing 1.5 GB in a loop, that
// bunching made region-outage-hot's dynos queue ten times what the model
// says. Memory holds what the disk has not taken yet, no more.
type behind struct {
	w    io.Writer
	wake chan struct{} // one pending wake-up at most
	done chan struct{} // closed when the writer goroutine has ended

	mu     sync.Mutex
	buf    []byte
	closed bool
	err    error // the first error of w: later writes fail with it
}

func newBehind(w io.Writer) *behind {
	b := &behind{w: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go b.run()
	return b
}

// Write keeps p for the writer goroutine; it fails once a write to w has.
func (b *behind) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.err != nil || b.closed {
		err := b.err
		b.mu.Unlock()
		if err == nil {
			err = io.ErrClosedPipe
		}
		return 0, err
	}
	b.buf = append(b.buf, p...)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Close writes what is left and returns the first error of w.
func (b *behind) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *behind) run() {
	defer close(b.done)
	var out []byte
	for range b.wake {
		for {
			b.mu.Lock()
			out, b.buf = b.buf, out[:0]
			closed, failed := b.closed, b.err != nil
			b.mu.Unlock()
			if len(out) > 0 && !failed {
				if _, err := b.w.Write(out); err != nil {
					b.mu.Lock()
					b.err = err
					b.mu.Unlock()
				}
				continue // more may have come while writing
			}
			if closed {
				return
			}
			break
		}
	}
}
