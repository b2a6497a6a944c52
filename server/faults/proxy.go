package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// Proxy is one toxiproxy TCP proxy in front of the server. Toxics added to
// it apply to the connections it carries now and to every new one, until
// removed.
type Proxy struct {
	p *toxiproxy.Proxy
}

var quietOnce sync.Once

// NewProxy starts a proxy on a free 127.0.0.1 port forwarding to upstream.
func NewProxy(name, upstream string) (*Proxy, error) {
	// Toxics log through zerolog's global logger; the figures are ours.
	quietOnce.Do(func() { zerolog.SetGlobalLevel(zerolog.Disabled) })
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	return &Proxy{p: p}, nil
}

// Addr is the address clients dial.
func (p *Proxy) Addr() string {
	p.p.Lock()
	defer p.p.Unlock()
	return p.p.Listen
}

// URL is the sync endpoint through the proxy.
func (p *Proxy) URL() string { return "ws://" + p.Addr() + "/sync" }

// Toxic is one fault: a toxiproxy toxic type ("latency", "bandwidth",
// "limit_data", "timeout", ...) on one direction ("upstream" is client to
// server, "downstream" server to client) with its attributes.
type Toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Attributes map[string]any `json:"attributes"`
}

// Add installs a toxic.
func (p *Proxy) Add(t Toxic) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := p.p.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("toxic %s: %w", t.Name, err)
	}
	return nil
}

// Both installs the toxic on both directions, named name_upstream and
// name_downstream (Remove takes those names).
func (p *Proxy) Both(name, typ string, attrs map[string]any) error {
	for _, s := range []string{"upstream", "downstream"} {
		if err := p.Add(Toxic{Name: name + "_" + s, Type: typ, Stream: s, Attributes: attrs}); err != nil {
			return err
		}
	}
	return nil
}

// Remove uninstalls a toxic by name; names Both made are name_upstream and
// name_downstream.
func (p *Proxy) Remove(names ...string) error {
	for _, n := range names {
		if err := p.p.Toxics.RemoveToxic(context.Background(), n); err != nil {
			return fmt.Errorf("toxic %s: %w", n, err)
		}
	}
	return nil
}

// RemoveBoth removes the pair Both installed.
func (p *Proxy) RemoveBoth(name string) error {
	return p.Remove(name+"_upstream", name+"_downstream")
}

// Down closes the listener and every connection through the proxy: the
// network is gone. Up listens again on the same port.
func (p *Proxy) Down() { p.p.Stop() }

// Up brings the proxy back after Down.
func (p *Proxy) Up() error { return p.p.Start() }

// Close stops the proxy for good.
func (p *Proxy) Close() { p.p.Stop() }
