package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"paydrill/sim/capture"
	"paydrill/sim/db"
	"paydrill/sim/dyno"
	"paydrill/sim/edge"
	"paydrill/sim/gateway"
	"paydrill/sim/reconciler"
	"paydrill/sim/replayer"
	"paydrill/sim/router"
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
func (Embedded) Supports(kind string) bool { return !containerFaults[kind] }

// Start boots the system: stores first, then the proxies in front of them,
// then the dynos, router, edge, replayer and reconciler, so every component
// is given the address of the proxy it must talk through.
func (Embedded) Start(ctx context.Context, p *Plan, dir string) (_ *System, err error) {
	stores := filepath.Join(dir, "stores")
	if err := os.MkdirAll(stores, 0o755); err != nil {
		return nil, err
	}
	sys := &System{Components: map[string]string{}, Dynos: p.Dynos}
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
	links := newLinks(toxiclient.NewClient(tp.addr()))
	sys.Links = links

	start := func(role string, h http.Handler, herr error) (string, error) {
		if herr != nil {
			return "", fmt.Errorf("%s: %w", role, herr)
		}
		srv, err := service.Start("127.0.0.1:0", h)
		if err != nil {
			if c, ok := h.(interface{ Close() error }); ok {
				c.Close()
			}
			return "", fmt.Errorf("%s: %w", role, err)
		}
		sys.onClose(srv.Close)
		sys.Components[role] = srv.URL()
		return srv.URL(), nil
	}
	// via is the address a component reaches upstreamURL at over link:
	// a toxiproxy relay when the plan proxies the link, else upstreamURL.
	via := func(link, upstreamURL string, aliases ...string) (string, error) {
		if !p.Proxies(link) {
			return upstreamURL, nil
		}
		addr, err := links.proxy(link, "127.0.0.1:0", hostPort(upstreamURL), aliases...)
		return "http://" + addr, err
	}

	gw := p.Gateway
	gw.Store = filepath.Join(stores, "gateway.sqlite")
	h, herr := gateway.New(gw)
	gatewayURL, err := start("gateway", h, herr)
	if err != nil {
		return nil, err
	}
	dbc := p.DB
	dbc.Store = filepath.Join(stores, "orders.sqlite")
	hd, herr := db.New(dbc)
	dbURL, err := start("db", hd, herr)
	if err != nil {
		return nil, err
	}
	cc := p.Capture
	cc.Store = filepath.Join(stores, "capture.sqlite")
	hc, herr := capture.New(cc)
	captureURL, err := start("capture", hc, herr)
	if err != nil {
		return nil, err
	}

	dynoGateway, err := via("dyno->gateway", gatewayURL)
	if err != nil {
		return nil, err
	}
	dynoDB, err := via("dyno->db", dbURL)
	if err != nil {
		return nil, err
	}
	var pool []string
	for i := 1; i <= p.Dynos; i++ {
		dc := p.Dyno
		dc.Name = fmt.Sprintf("dyno-%d", i)
		dc.Gateway, dc.DB = dynoGateway, dynoDB
		dc.Seed = p.Seed*1000 + int64(i)
		hy, herr := dyno.New(dc)
		u, err := start(dynoRole(i), hy, herr)
		if err != nil {
			return nil, err
		}
		pu, err := via(dynoLink(i), u, routerDynoLink)
		if err != nil {
			return nil, err
		}
		pool = append(pool, pu)
	}
	rc := p.Router
	rc.Dynos = pool
	rc.Seed = p.Seed*1000 + 101
	hr, herr := router.New(rc)
	routerURL, err := start("router", hr, herr)
	if err != nil {
		return nil, err
	}

	edgeRouter, err := via("edge->router", routerURL)
	if err != nil {
		return nil, err
	}
	edgeCapture, err := via("edge->capture", captureURL)
	if err != nil {
		return nil, err
	}
	ec := p.Edge
	ec.Production, ec.Capture = edgeRouter, edgeCapture
	ec.Seed = p.Seed*1000 + 102
	he, herr := edge.New(ec)
	if sys.Edge, err = start("edge", he, herr); err != nil {
		return nil, err
	}

	replayerRouter, err := via("replayer->router", routerURL)
	if err != nil {
		return nil, err
	}
	pc := p.Replayer
	pc.Capture, pc.Production = captureURL, replayerRouter
	pc.Store = filepath.Join(stores, "replayer.sqlite")
	hp, herr := replayer.New(pc)
	if _, err := start("replayer", hp, herr); err != nil {
		return nil, err
	}

	reconcilerGateway, err := via("reconciler->gateway", gatewayURL)
	if err != nil {
		return nil, err
	}
	kc := p.Reconciler
	kc.DB, kc.Gateway = dbURL, reconcilerGateway
	kc.Store = filepath.Join(stores, "reconciler.sqlite")
	hk, herr := reconciler.New(kc)
	if _, err := start("reconciler", hk, herr); err != nil {
		return nil, err
	}
	return sys, ctx.Err()
}
