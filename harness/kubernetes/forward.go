package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// forwarder is how the harness reaches one instance from this host: a
// listener on 127.0.0.1 (port 0: the kernel picks) whose every connection
// is carried to port of a ready pod of the instance through the API
// server's port-forward (the same path as `kubectl port-forward`), so no
// host traffic leaves 127.0.0.1 whatever cluster the run is on. The pod
// is looked up by its instance label when the first connection comes and
// again once its stream fails (a killed pod is replaced under another
// name), and one SPDY connection to it carries every connection's
// streams.
type forwarder struct {
	cs       kubernetes.Interface
	cfg      *rest.Config
	ns       string
	instance string // the paydrill.instance label of its pods
	port     int
	ln       net.Listener
	reqID    atomic.Int64

	mu   sync.Mutex
	pod  string
	conn httpstream.Connection
	// checked is when the pod was last seen ready: a connection is kept
	// to it for podRecheck, then the pod is looked at again (a pod
	// evicted or deleted leaves the SPDY connection open, every stream on
	// it ending at once).
	checked time.Time

	wg     sync.WaitGroup
	closed atomic.Bool
}

func newForwarder(cs kubernetes.Interface, cfg *rest.Config, ns, instance string, port int) (*forwarder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &forwarder{cs: cs, cfg: cfg, ns: ns, instance: instance, port: port, ln: ln}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

// addr is the forwarder's host:port on 127.0.0.1.
func (f *forwarder) addr() string { return f.ln.Addr().String() }

func (f *forwarder) url() string { return "http://" + f.addr() }

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return // closed
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.carry(c)
		}()
	}
}

// carry copies c to a new stream to the pod and back; a connection it
// cannot carry is closed, which its client sees as refused.
func (f *forwarder) carry(c net.Conn) {
	defer c.Close()
	var (
		conn       httpstream.Connection
		data, errs httpstream.Stream
		err        error
	)
	for attempt := 0; attempt < 2; attempt++ {
		conn, data, errs, err = f.streams()
		if err == nil {
			break
		}
		f.drop() // maybe a pod gone: look it up again
	}
	if err != nil {
		return
	}
	defer conn.RemoveStreams(data, errs)
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(data, c)
		_ = data.Close() // half-close: the pod sees the client's end
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(c, data)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		// The error stream says why the pod's side failed (the pod gone,
		// a port nobody listens on): look the pod up again next time.
		if n, _ := io.Copy(io.Discard, errs); n > 0 {
			f.drop()
		}
	}()
	<-done
	<-done
}

// streams opens the error and data streams of one forwarded connection.
func (f *forwarder) streams() (conn httpstream.Connection, data, errs httpstream.Stream, err error) {
	conn, err = f.connection()
	if err != nil {
		return nil, nil, nil, err
	}
	id := strconv.FormatInt(f.reqID.Add(1), 10)
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(f.port))
	h.Set(corev1.PortForwardRequestIDHeader, id)
	errs, err = conn.CreateStream(h)
	if err != nil {
		return nil, nil, nil, err
	}
	_ = errs.Close() // nothing is sent on it
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err = conn.CreateStream(h)
	if err != nil {
		conn.RemoveStreams(errs)
		return nil, nil, nil, err
	}
	return conn, data, errs, nil
}

// connection is the SPDY connection to the instance's ready pod, dialled
// once and kept until it fails.
func (f *forwarder) connection() (httpstream.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		select {
		case <-f.conn.CloseChan():
			f.conn = nil
		default:
			if time.Since(f.checked) < podRecheck || f.stillReady() {
				return f.conn, nil
			}
			f.conn.Close()
			f.conn, f.pod = nil, ""
		}
	}
	if f.closed.Load() {
		return nil, errors.New("forwarder closed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pod, err := readyPod(ctx, f.cs, f.ns, f.instance)
	if err != nil {
		return nil, err
	}
	transport, upgrader, err := spdy.RoundTripperFor(f.cfg)
	if err != nil {
		return nil, err
	}
	u := f.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(f.ns).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport, Timeout: 10 * time.Second}, http.MethodPost, u)
	conn, proto, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s: %w", pod, err)
	}
	if proto != portforward.PortForwardProtocolV1Name {
		conn.Close()
		return nil, fmt.Errorf("port-forward to %s: the API server speaks %q", pod, proto)
	}
	f.pod, f.conn, f.checked = pod, conn, time.Now()
	return conn, nil
}

// podRecheck is how long a pod found ready is taken to be so.
const podRecheck = time.Second

// stillReady says whether f.pod is still there and ready (it is when the
// API cannot say), and if so notes when it was seen. f.mu is held.
func (f *forwarder) stillReady() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := f.cs.CoreV1().Pods(f.ns).Get(ctx, f.pod, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false
	case err != nil:
		return true
	case p.DeletionTimestamp != nil || !podReady(p):
		return false
	}
	f.checked = time.Now()
	return true
}

// drop forgets the pod and its connection.
func (f *forwarder) drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		f.conn.Close()
	}
	f.conn, f.pod = nil, ""
}

// close stops listening and ends every connection it carries.
func (f *forwarder) close() {
	f.closed.Store(true)
	_ = f.ln.Close()
	f.drop()
	f.wg.Wait()
}

// readyPod names a running, ready pod of the instance.
func readyPod(ctx context.Context, cs kubernetes.Interface, ns, instance string) (string, error) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labelInstance + "=" + instance})
	if err != nil {
		return "", err
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && podReady(&p) {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("no ready pod of %s", instance)
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
