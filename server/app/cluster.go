package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/server/cluster"
	"github.com/plansync/plansync/server/store"
)

// ClusterConfig turns cluster mode on (server/cluster): writes go through
// a replicated NATS JetStream log and this node's badger folder becomes a
// view of it. Either Node (embed a NATS node in this process) or NatsURL
// (use a NATS cluster the operator runs) is set.
type ClusterConfig struct {
	// Node is the embedded NATS node's configuration; its Dir defaults
	// to DataDir/nats.
	Node *cluster.NodeConfig
	// NatsURL lists the servers of an existing NATS cluster,
	// comma-separated (nats://host:4222,...).
	NatsURL string
	// NatsCreds is a NATS credentials file for NatsURL; none when empty.
	NatsCreds string
	// Replicas of the log; cluster.DefaultReplicas when zero.
	Replicas int
}

// clustered is what cluster mode adds to a running App.
type clustered struct {
	node  *cluster.Node // nil with an external NATS
	conn  *nats.Conn
	store *cluster.Store
}

// openCluster starts (or connects to) NATS and opens the cluster store
// over the badger view st, which it then owns.
func openCluster(ctx context.Context, cfg Config, st *store.Store, clock *cluster.Clock) (*clustered, error) {
	cc := cfg.Cluster
	c := &clustered{}
	var err error
	switch {
	case cc.Node != nil && cc.NatsURL != "":
		return nil, errors.New("cluster mode: embed a NATS node (--cluster-listen) or use one (--nats-url), not both")
	case cc.Node != nil:
		nc := *cc.Node
		if nc.Dir == "" {
			nc.Dir = filepath.Join(cfg.DataDir, "nats")
		}
		nc.Logger = cfg.Logger
		if c.node, err = cluster.StartNode(nc); err != nil {
			return nil, err
		}
		c.conn, err = c.node.Connect("plansync " + nc.Name)
	case cc.NatsURL != "":
		opts := []nats.Option{nats.Name("plansync"), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
		if cc.NatsCreds != "" {
			opts = append(opts, nats.UserCredentials(cc.NatsCreds))
		}
		c.conn, err = nats.Connect(strings.TrimSpace(cc.NatsURL), opts...)
	default:
		return nil, errors.New("cluster mode needs --cluster-listen (an embedded NATS node) or --nats-url")
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("cluster mode: connecting to NATS: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, clusterOpenTimeout)
	defer cancel()
	c.store, err = cluster.Open(octx, cluster.Config{Conn: c.conn, Local: st, Clock: clock, Replicas: cc.Replicas, Logger: cfg.Logger})
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// clusterOpenTimeout bounds the start of cluster mode: the other nodes
// coming up, the log's stream made or found, this node caught up.
const clusterOpenTimeout = 2 * time.Minute

// close stops what openCluster started, store first.
func (c *clustered) close() error {
	var err error
	if c.store != nil {
		err = c.store.Close()
	}
	if c.conn != nil {
		c.conn.Close()
	}
	if c.node != nil {
		c.node.Shutdown()
	}
	return err
}

// Shared is the server.Store the hub, accounts and API use: the cluster
// store in cluster mode, the badger store otherwise.
func (a *App) Shared() server.Store {
	if a.cluster != nil {
		return a.cluster.store
	}
	return a.Store
}

// Cluster is the cluster store, nil outside cluster mode.
func (a *App) Cluster() *cluster.Store {
	if a.cluster == nil {
		return nil
	}
	return a.cluster.store
}

// Healthy reports whether this server can take writes: its disk, and in
// cluster mode the log's quorum.
func (a *App) Healthy() error {
	if a.cluster != nil {
		return a.cluster.store.Healthy()
	}
	return a.Store.Healthy()
}
