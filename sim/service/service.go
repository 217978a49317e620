// Package service runs one component of the simulated system as an HTTP
// server and holds the small HTTP helpers every component shares.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"paydrill/sim/wire"
)

// Server is a component listening on a TCP address.
type Server struct {
	http    *http.Server
	ln      net.Listener
	handler http.Handler
	done    chan struct{}
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves h.
// When h is also an io.Closer, Close closes it after the listener.
func Start(addr string, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		http:    &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		ln:      ln,
		handler: h,
		done:    make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the server's base URL, http://host:port.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Handler is the component being served.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops accepting, gives open requests a moment to finish, then closes
// every connection and the component. Safe to call twice.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.http.Close()
	}
	<-s.done
	if c, ok := s.handler.(io.Closer); ok {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// WriteJSON answers with status and v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError answers with status and {"error": msg}.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// NDJSON streams records as newline-delimited JSON (the export format).
type NDJSON struct {
	enc *json.Encoder
}

// NewNDJSON starts an NDJSON answer on w.
func NewNDJSON(w http.ResponseWriter) *NDJSON {
	w.Header().Set("Content-Type", "application/x-ndjson")
	return &NDJSON{enc: json.NewEncoder(w)}
}

// Write sends one record.
func (n *NDJSON) Write(v any) error { return n.enc.Encode(v) }

// ReadNDJSON decodes every record of an export into a slice.
func ReadNDJSON[T any](r io.Reader) ([]T, error) {
	dec := json.NewDecoder(r)
	var out []T
	for {
		var v T
		if err := dec.Decode(&v); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, err
		}
		out = append(out, v)
	}
}

// Fetch GETs url's export and decodes it.
func Fetch[T any](ctx context.Context, client *http.Client, url string) ([]T, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(url + ": " + resp.Status)
	}
	return ReadNDJSON[T](resp.Body)
}

// Ready is one readiness check of the component at base: GET /readyz
// answered 200 before ctx ends. The body is read (up to 1 MiB) so the
// connection can be used again.
func Ready(ctx context.Context, client *http.Client, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+wire.PathReadyz, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// CheckURL says what is wrong with a component's base URL, or nil.
func CheckURL(s string) error {
	if s == "" {
		return errors.New("required: a base URL such as http://127.0.0.1:8080")
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not a base URL such as http://127.0.0.1:8080", s)
	}
	return nil
}

// Export answers GET /admin/export: the records, read in full beforehand
// (so a slow reader never holds a store's only connection), as NDJSON, or
// a 500 when reading them failed.
func Export[T any](w http.ResponseWriter, recs []T, err error) {
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := NewNDJSON(w)
	for _, r := range recs {
		if out.Write(r) != nil {
			return
		}
	}
}

// hopByHop are the headers that belong to one connection, not the request.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Proxy-Connection": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Content-Length": true,
}

// CopyHeader sets dst's headers to src's end-to-end ones, as a proxy
// passes them on.
func CopyHeader(dst, src http.Header) {
	for k, vs := range src {
		if hopByHop[http.CanonicalHeaderKey(k)] {
			continue
		}
		dst[k] = append([]string(nil), vs...)
	}
}
