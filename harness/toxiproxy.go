package harness

import (
	"fmt"
	"sort"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"paydrill/sim/service"
)

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

// Links maps each link name of DESIGN.md ("edge->router", "router->dyno[2]")
// to the toxiproxy proxies it passes through. "router->dyno" names every
// dyno's proxy.
type Links struct {
	client  *toxiclient.Client
	proxies map[string]*toxiclient.Proxy // by proxy name
	links   map[string][]string          // link → proxy names
}

func newLinks(client *toxiclient.Client) *Links {
	return &Links{client: client, proxies: map[string]*toxiclient.Proxy{}, links: map[string][]string{}}
}

// proxy creates a proxy for link listening on listen (host:port, port 0 for
// any) towards upstream (host:port), and returns the address it listens on.
// Extra aliases (like "router->dyno" for every dyno) name the same proxy.
func (l *Links) proxy(link, listen, upstream string, aliases ...string) (string, error) {
	name := proxyName(link)
	p, err := l.client.CreateProxy(name, listen, upstream)
	if err != nil {
		return "", fmt.Errorf("toxiproxy: proxy %s: %w", link, err)
	}
	l.proxies[name] = p
	for _, n := range append([]string{link}, aliases...) {
		l.links[n] = append(l.links[n], name)
	}
	return p.Listen, nil
}

// Names lists every link a fault may name, sorted.
func (l *Links) Names() []string {
	out := make([]string, 0, len(l.links))
	for n := range l.links {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Proxies returns the proxies of link.
func (l *Links) Proxies(link string) ([]*toxiclient.Proxy, error) {
	names, ok := l.links[link]
	if !ok {
		return nil, fmt.Errorf("no link %q (links: %v)", link, l.Names())
	}
	out := make([]*toxiclient.Proxy, len(names))
	for i, n := range names {
		out[i] = l.proxies[n]
	}
	return out, nil
}

// Heal removes every toxic and re-enables every proxy.
func (l *Links) Heal() error {
	return l.client.ResetState()
}

// proxyName turns a link name into a toxiproxy proxy name.
func proxyName(link string) string {
	out := make([]rune, 0, len(link))
	for _, r := range link {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			out = append(out, r)
		case r == '-' || r == '>' || r == '[' || r == ']' || r == ':':
			if n := len(out); n == 0 || out[n-1] != '_' {
				out = append(out, '_')
			}
		}
	}
	for len(out) > 0 && out[len(out)-1] == '_' {
		out = out[:len(out)-1]
	}
	return string(out)
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
