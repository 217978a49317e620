package harness

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"paydrill/harness/topology"
	"paydrill/sim/service"
)

// Embedded runs every component in this process on 127.0.0.1 ports, with
// toxiproxy's server embedded too. It needs nothing but Go.
type Embedded struct{}

var _ Runtime = Embedded{}

// Name is "embedded".
func (Embedded) Name() string { return "embedded" }

// Supports every link fault; there are no containers to kill, stop,
// restart or pause.
func (Embedded) Supports(kind string) bool { return !isContainerFault(kind) }

// Start boots the plan's topology in its order (stores first, then the
// dynos, router, edge, replayer and reconciler), creating a link's relay
// when the first component that uses it is configured, so every component
// is given the address of the relay or peer it must talk to.
func (Embedded) Start(ctx context.Context, p *Plan, dir string) (_ *System, err error) {
	stores := filepath.Join(dir, "stores")
	if err := os.MkdirAll(stores, 0o755); err != nil {
		return nil, err
	}
	topo := p.Topology()
	sys := &System{Components: map[string]string{}, Dynos: topo.Dynos()}
	defer func() {
		if err != nil {
			sys.Close() // whatever had started
		}
	}()
	tp, err := startToxiproxy()
	if err != nil {
		return nil, err
	}
	sys.onClose(tp.Close)
	sys.Links = newLinks(toxiclient.NewClient(tp.addr()))
	addrs := &embeddedAddrs{sys: sys, stores: stores, relays: map[string]string{}}
	for _, in := range topo.Instances {
		h, err := topo.Config(in, addrs).Build()
		if err == nil {
			err = addrs.err
		}
		if err == nil {
			err = sys.serve(in.Name, h)
		} else if c, ok := h.(interface{ Close() error }); ok {
			c.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
	}
	sys.Edge = sys.Components[topology.RoleEdge]
	return sys, ctx.Err()
}

// serve starts h on a 127.0.0.1 port as the component named name.
func (s *System) serve(name string, h http.Handler) error {
	srv, err := service.Start("127.0.0.1:0", h)
	if err != nil {
		if c, ok := h.(interface{ Close() error }); ok {
			c.Close()
		}
		return err
	}
	s.onClose(srv.Close)
	s.Components[name] = srv.URL()
	return nil
}

// embeddedAddrs are the embedded runtime's addresses: every component's
// 127.0.0.1 URL, a relay of the embedded toxiproxy for a proxied link
// (created on first use), and a store file under the run's directory.
type embeddedAddrs struct {
	sys    *System
	stores string
	relays map[string]string // link → relay URL
	err    error             // the first relay that could not be created
}

func (a *embeddedAddrs) Direct(in topology.Instance) string { return a.sys.Components[in.Name] }

func (a *embeddedAddrs) Store(in topology.Instance) string { return filepath.Join(a.stores, in.Store) }

func (a *embeddedAddrs) Link(l topology.Link) string {
	up := a.sys.Components[l.To]
	if !l.Proxied {
		return up
	}
	if u, ok := a.relays[l.Name]; ok {
		return u
	}
	var aliases []string
	if l.Group != "" {
		aliases = append(aliases, l.Group)
	}
	addr, err := a.sys.Links.proxy(l.Name, "127.0.0.1:0", hostPort(up), aliases...)
	if err != nil {
		a.err = cmp.Or(a.err, err)
		return ""
	}
	a.relays[l.Name] = "http://" + addr
	return a.relays[l.Name]
}
