// Package embedded is the runtime that realises a topology in this
// process: every component on a 127.0.0.1 port, with toxiproxy's server
// embedded too. It needs nothing but Go.
package embedded

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/service"
)

// Runtime runs every component in this process.
type Runtime struct{}

var _ system.Runtime = Runtime{}

// Name is "embedded".
func (Runtime) Name() string { return "embedded" }

// Supports every link fault and a standby region; there are no
// containers to kill, stop, restart or pause, and no cluster: no
// Kubernetes fault and no redundancy settings (every component is in
// this process).
func (Runtime) Supports(kind string) bool {
	if kind == system.FeatureStandby {
		return true
	}
	k, ok := scenarios.LookupFaultKind(kind)
	return ok && !k.Container && !k.Kubernetes
}

// Start boots the topology in its order (stores first, then the
// dynos, router, edge, replayer and reconciler), creating a link's relay
// when the first component that uses it is configured, so every component
// is given the address of the relay or peer it must talk to.
func (Runtime) Start(ctx context.Context, topo *topology.Topology, dir string) (_ *system.System, err error) {
	stores := filepath.Join(dir, "stores")
	if err := os.MkdirAll(stores, 0o755); err != nil {
		return nil, err
	}
	live, keep, err := liveStores(stores)
	if err != nil {
		return nil, err
	}
	sys := &system.System{Components: map[string]string{}, Dynos: topo.Dynos(), Stores: live}
	sys.OnClose(keep) // first registered, so run last: once every store is closed
	defer func() {
		if err != nil {
			sys.Close() // whatever had started
		}
	}()
	tp, err := startToxiproxy()
	if err != nil {
		return nil, err
	}
	sys.OnClose(tp.Close)
	sys.Links = system.NewLinks(toxiclient.NewClient(tp.addr()))
	addrs := &embeddedAddrs{sys: sys, stores: live, relays: map[string]string{}}
	var boot []topology.Instance
	for _, in := range topo.Instances {
		if !in.Deferred {
			boot = append(boot, in)
		}
	}
	if err := start(topo, addrs, boot); err != nil {
		return nil, err
	}
	sys.Edge = sys.Components[topology.RoleEdge]
	var provisioning sync.Mutex
	sys.Provision = func(ctx context.Context, region string) error {
		provisioning.Lock()
		defer provisioning.Unlock()
		ins, _ := topo.Deferred(region)
		var todo []topology.Instance
		var names []string
		for _, in := range ins {
			if sys.URL(in.Name) == "" {
				todo = append(todo, in)
				names = append(names, in.Name)
			}
		}
		if len(todo) == 0 {
			return nil // provisioned already
		}
		if err := start(topo, addrs, todo); err != nil {
			return err
		}
		if err := sys.WaitHealthy(ctx, nil, names, 60*time.Second); err != nil {
			return err
		}
		return sys.Rewire(ctx, topo.Rewire(region, addrs))
	}
	return sys, ctx.Err()
}

// start builds and serves each instance in order, each told the address
// of its peers and relays.
func start(topo *topology.Topology, addrs *embeddedAddrs, ins []topology.Instance) error {
	for _, in := range ins {
		h, err := topo.Config(in, addrs).Build()
		if err == nil {
			err = addrs.err
		}
		if err == nil {
			err = serve(addrs.sys, in.Name, h)
		} else if c, ok := h.(interface{ Close() error }); ok {
			c.Close()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", in.Name, err)
		}
	}
	return nil
}

// serve starts h on a 127.0.0.1 port as the component of s named name.
func serve(s *system.System, name string, h http.Handler) error {
	srv, err := service.Start("127.0.0.1:0", h)
	if err != nil {
		if c, ok := h.(interface{ Close() error }); ok {
			c.Close()
		}
		return err
	}
	s.OnClose(srv.Close)
	s.SetURL(name, srv.URL())
	return nil
}

// embeddedAddrs are the embedded runtime's addresses: every component's
// 127.0.0.1 URL, a relay of the embedded toxiproxy for a proxied link
// (created on first use), and a store file in the live stores' directory
// (liveStores).
type embeddedAddrs struct {
	sys    *system.System
	stores string
	relays map[string]string // link → relay URL
	err    error             // the first relay that could not be created
}

func (a *embeddedAddrs) Direct(in topology.Instance) string { return a.sys.URL(in.Name) }

func (a *embeddedAddrs) Store(in topology.Instance) string { return filepath.Join(a.stores, in.Store) }

func (a *embeddedAddrs) Link(l topology.Link) string {
	up := a.sys.URL(l.To)
	if !l.Proxied {
		return up
	}
	if u, ok := a.relays[l.Name]; ok {
		return u
	}
	addr, err := a.sys.Links.Proxy(l.Name, "127.0.0.1:0", hostPort(up), l.Names()[1:]...)
	if err != nil {
		a.err = cmp.Or(a.err, err)
		return ""
	}
	a.relays[l.Name] = "http://" + addr
	return a.relays[l.Name]
}

// embeddedToxiproxy is toxiproxy's own server running in this process on a
// 127.0.0.1 port, driven through toxiproxy's own HTTP client like any other.
type embeddedToxiproxy struct {
	api *toxiproxy.ApiServer
	srv *service.Server
}

func startToxiproxy() (*embeddedToxiproxy, error) {
	metrics := toxiproxy.NewMetricsContainer(prometheus.NewRegistry())
	api := toxiproxy.NewServer(metrics, zerolog.Nop())
	srv, err := service.Start("127.0.0.1:0", api.Routes())
	if err != nil {
		return nil, fmt.Errorf("toxiproxy: %w", err)
	}
	return &embeddedToxiproxy{api: api, srv: srv}, nil
}

func (t *embeddedToxiproxy) addr() string { return t.srv.Addr() }

func (t *embeddedToxiproxy) Close() error {
	err := t.api.Collection.Clear()
	if cerr := t.srv.Close(); err == nil {
		err = cerr
	}
	return err
}

// hostPort strips the scheme from a base URL.
func hostPort(url string) string {
	for _, p := range []string{"http://", "https://"} {
		if len(url) > len(p) && url[:len(p)] == p {
			return url[len(p):]
		}
	}
	return url
}
