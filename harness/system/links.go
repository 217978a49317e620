package system

import (
	"fmt"
	"sort"
	"sync"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// Links maps each link name of DESIGN.md ("edge->router", "router->dyno[2]")
// to the toxiproxy proxies it passes through. "router->dyno" names every
// dyno's proxy.
type Links struct {
	mu      sync.Mutex // a region provisioned during the run adds proxies
	client  *toxiclient.Client
	proxies map[string]*toxiclient.Proxy // by proxy name
	links   map[string][]string          // link → proxy names
}

// NewLinks drives the toxiproxy server client talks to.
func NewLinks(client *toxiclient.Client) *Links {
	return &Links{client: client, proxies: map[string]*toxiclient.Proxy{}, links: map[string][]string{}}
}

// Proxy creates a proxy for link listening on listen (host:port, port 0 for
// any) towards upstream (host:port), and returns the address it listens on.
// Extra aliases (like "router->dyno" for every dyno) name the same proxy.
func (l *Links) Proxy(link, listen, upstream string, aliases ...string) (string, error) {
	name := proxyName(link)
	p, err := l.client.CreateProxy(name, listen, upstream)
	l.mu.Lock()
	defer l.mu.Unlock()
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
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.links))
	for n := range l.links {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Proxies returns the proxies of link.
func (l *Links) Proxies(link string) ([]*toxiclient.Proxy, error) {
	l.mu.Lock()
	names, ok := l.links[link]
	l.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no link %q (links: %v)", link, l.Names())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*toxiclient.Proxy, len(names))
	for i, n := range names {
		out[i] = l.proxies[n]
	}
	return out, nil
}

// Cut says whether a fault cuts link now: one of its proxies refuses
// connections (down) or holds every byte (a timeout toxic). A link that
// passes through no proxy is never cut.
func (l *Links) Cut(link string) bool {
	l.mu.Lock()
	names := l.links[link]
	l.mu.Unlock()
	for _, n := range names {
		p, err := l.client.Proxy(n)
		if err != nil {
			continue
		}
		if !p.Enabled {
			return true
		}
		toxics, err := p.Toxics()
		if err != nil {
			continue
		}
		for _, t := range toxics {
			if t.Type == "timeout" {
				return true
			}
		}
	}
	return false
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
