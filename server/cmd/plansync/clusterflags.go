package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/plansync/plansync/server/app"
	"github.com/plansync/plansync/server/cluster"
)

// clusterOpts are serve's cluster-mode flags (README, "Cluster").
type clusterOpts struct {
	name, listen, routes, node, natsListen string
	natsURL, natsCreds                     string
	tlsCert, tlsKey, tlsCA                 string
	replicas                               *int
}

func clusterFlags(fs *flag.FlagSet) *clusterOpts {
	c := &clusterOpts{}
	fs.StringVar(&c.name, "cluster-name", env("PLANSYNC_CLUSTER_NAME", ""), "cluster mode with an embedded NATS node: the cluster's name, the same on every node (env PLANSYNC_CLUSTER_NAME)")
	fs.StringVar(&c.listen, "cluster-listen", env("PLANSYNC_CLUSTER_LISTEN", ""), "cluster mode: host:port where this node takes the other nodes' routes, e.g. 10.0.0.1:6222 (env PLANSYNC_CLUSTER_LISTEN)")
	fs.StringVar(&c.routes, "cluster-routes", env("PLANSYNC_CLUSTER_ROUTES", ""), "cluster mode: every node's route address, comma-separated (this node's may be listed) (env PLANSYNC_CLUSTER_ROUTES)")
	fs.StringVar(&c.node, "node-name", env("PLANSYNC_NODE_NAME", ""), "cluster mode: this node's name, unique in the cluster; default the host name (env PLANSYNC_NODE_NAME)")
	fs.StringVar(&c.natsListen, "nats-listen", env("PLANSYNC_NATS_LISTEN", ""), "cluster mode: host:port for NATS clients (nats CLI, monitoring) of the embedded node; default a random loopback port (env PLANSYNC_NATS_LISTEN)")
	fs.StringVar(&c.natsURL, "nats-url", env("PLANSYNC_NATS_URL", ""), "cluster mode on a NATS cluster you run: its servers, comma-separated nats:// URLs (env PLANSYNC_NATS_URL)")
	fs.StringVar(&c.natsCreds, "nats-creds", env("PLANSYNC_NATS_CREDS", ""), "credentials file for --nats-url (env PLANSYNC_NATS_CREDS)")
	fs.StringVar(&c.tlsCert, "cluster-tls-cert", env("PLANSYNC_CLUSTER_TLS_CERT", ""), "PEM certificate of this node for TLS between nodes; needs --cluster-tls-key and --cluster-tls-ca (env PLANSYNC_CLUSTER_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "cluster-tls-key", env("PLANSYNC_CLUSTER_TLS_KEY", ""), "PEM key of --cluster-tls-cert (env PLANSYNC_CLUSTER_TLS_KEY)")
	fs.StringVar(&c.tlsCA, "cluster-tls-ca", env("PLANSYNC_CLUSTER_TLS_CA", ""), "PEM CA that signed every node's certificate: routes verify each other against it (env PLANSYNC_CLUSTER_TLS_CA)")
	c.replicas = fs.Int("cluster-replicas", cluster.DefaultReplicas, "cluster mode: nodes that hold each write (3 survives one node lost)")
	return c
}

// config returns the cluster configuration, nil when no cluster flag is
// set (the single-node server).
func (c *clusterOpts) config() (*app.ClusterConfig, error) {
	embedded := c.listen != "" || c.name != "" || c.routes != ""
	if !embedded && c.natsURL == "" {
		if c.tlsCert != "" || c.tlsKey != "" || c.tlsCA != "" || c.natsListen != "" || c.node != "" {
			return nil, errors.New("the cluster flags need --cluster-listen (an embedded NATS node) or --nats-url")
		}
		return nil, nil
	}
	if embedded && c.natsURL != "" {
		return nil, errors.New("give --nats-url (a NATS cluster you run) or --cluster-listen/--cluster-name/--cluster-routes (an embedded node), not both")
	}
	if *c.replicas < 1 || *c.replicas > 5 {
		return nil, fmt.Errorf("--cluster-replicas must be 1 to 5 (JetStream's limit), not %d", *c.replicas)
	}
	cc := &app.ClusterConfig{NatsURL: c.natsURL, NatsCreds: c.natsCreds, Replicas: *c.replicas}
	if !embedded {
		return cc, nil
	}
	if c.listen == "" || c.name == "" {
		return nil, errors.New("an embedded cluster node needs --cluster-name and --cluster-listen (and --cluster-routes)")
	}
	nc := &cluster.NodeConfig{Name: c.node, ClusterName: c.name, ClusterListen: c.listen, NatsListen: c.natsListen}
	for _, r := range strings.Split(c.routes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			nc.Routes = append(nc.Routes, r)
		}
	}
	if c.tlsCert != "" || c.tlsKey != "" || c.tlsCA != "" {
		if c.tlsCert == "" || c.tlsKey == "" || c.tlsCA == "" {
			return nil, errors.New("TLS between nodes needs --cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca")
		}
		nc.RouteTLS = &natsserver.TLSConfigOpts{CertFile: c.tlsCert, KeyFile: c.tlsKey, CaFile: c.tlsCA, Verify: true}
	}
	cc.Node = nc
	return cc, nil
}
