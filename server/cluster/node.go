package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// NodeConfig configures the NATS node a plansync process embeds.
type NodeConfig struct {
	// Name is the node's name, unique in the cluster (JetStream places
	// replicas by it); the host name when empty.
	Name string
	// Dir holds JetStream's files (the replicated log): a folder of its
	// own, on a disk that honours fsync.
	Dir string
	// ClusterName names the cluster: every node gives the same.
	ClusterName string
	// ClusterListen is host:port where the node takes routes from the
	// other nodes (NATS' default is 6222).
	ClusterListen string
	// Routes are the other nodes' cluster addresses (host:port or
	// nats-route://host:port); listing every node, itself included, is fine.
	Routes []string
	// NatsListen is host:port where NATS clients (the nats CLI, monitoring)
	// connect; empty means a random loopback port (plansync itself
	// connects in-process; NATS starts its routes only once its client
	// listener is up, so there is always one).
	NatsListen string
	// RouteTLS, when its CertFile is set, makes routes TLS with client
	// certificates checked against its CaFile (mutual TLS between nodes).
	RouteTLS *natsserver.TLSConfigOpts
	// NoSync turns the log's synchronous writes off. Only the crash
	// harness's control run sets it, to show lost acks are detected.
	NoSync bool
	// MaxStore bounds the disk JetStream may use; 0: NATS' default
	// (most of the disk).
	MaxStore int64
	Logger   *slog.Logger
}

// Node is a running embedded NATS server with JetStream.
type Node struct {
	srv *natsserver.Server
}

// maxPayload is the embedded node's max_payload: above
// DefaultMaxEntryBytes plus headers.
const maxPayload = DefaultMaxEntryBytes + 512<<10

// StartNode starts an embedded NATS node and waits until it takes
// connections. JetStream's own default syncs the log to disk every two
// minutes, which is not before the ack a client is sent: the node sets
// sync_always, so each replica fsyncs its Raft log before it answers the
// leader, and a write is acked only once a quorum has it on disk.
func StartNode(cfg NodeConfig) (*Node, error) {
	if cfg.Dir == "" {
		return nil, errors.New("cluster: the node needs a folder for its log")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Name == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("cluster: node name: %w", err)
		}
		cfg.Name = h
	}
	opts := &natsserver.Options{
		ServerName:         cfg.Name,
		JetStream:          true,
		StoreDir:           cfg.Dir,
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  cfg.MaxStore,
		MaxPayload:         maxPayload,
		SyncAlways:         !cfg.NoSync,
		NoSigs:             true,
	}
	if cfg.NatsListen == "" {
		cfg.NatsListen = "127.0.0.1:0"
	}
	host, port, err := splitHostPort(cfg.NatsListen)
	if err != nil {
		return nil, fmt.Errorf("cluster: --nats-listen: %w", err)
	}
	opts.Host, opts.Port = host, port
	if cfg.ClusterListen != "" {
		if cfg.ClusterName == "" {
			return nil, errors.New("cluster: a cluster address needs a cluster name (--cluster-name)")
		}
		host, port, err := splitHostPort(cfg.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("cluster: --cluster-listen: %w", err)
		}
		opts.Cluster = natsserver.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: port}
		for _, r := range cfg.Routes {
			if !strings.Contains(r, "://") {
				r = "nats-route://" + r
			}
			opts.Routes = append(opts.Routes, natsserver.RoutesFromStr(r)...)
		}
		if cfg.RouteTLS != nil && cfg.RouteTLS.CertFile != "" {
			tc, err := natsserver.GenTLSConfig(cfg.RouteTLS)
			if err != nil {
				return nil, fmt.Errorf("cluster: route TLS: %w", err)
			}
			// As NATS' own config file does for routes: strict client
			// verification, and the CA for the routes this node dials too.
			tc.ClientAuth = tls.RequireAndVerifyClientCert
			tc.RootCAs = tc.ClientCAs
			opts.Cluster.TLSConfig = tc
			opts.Cluster.TLSTimeout = 2
		}
	}
	srv, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: starting the NATS node: %w", err)
	}
	srv.SetLoggerV2(&natsLog{l: cfg.Logger.With("nats", cfg.Name)}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("cluster: the NATS node did not start within 20s")
	}
	return &Node{srv: srv}, nil
}

func splitHostPort(hp string) (string, int, error) {
	host, ps, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(ps)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", ps, err)
	}
	if port == 0 {
		port = -1 // NATS' "pick one"
	}
	return host, port, nil
}

// Connect returns an in-process connection to the node.
func (n *Node) Connect(name string) (*nats.Conn, error) {
	return nats.Connect("", nats.InProcessServer(n.srv), nats.Name(name), nats.MaxReconnects(-1))
}

// ClusterAddr is where the node takes routes (host:port), "" if none.
func (n *Node) ClusterAddr() string {
	if a := n.srv.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// ClientURL is the node's NATS client URL.
func (n *Node) ClientURL() string { return n.srv.ClientURL() }

// SyncAlways reports whether the running node fsyncs every write of its
// log (it reads the option the server runs with, for tests and /healthz).
func (n *Node) SyncAlways() bool {
	cfg := n.srv.JetStreamConfig()
	return cfg != nil && cfg.SyncAlways
}

// Shutdown stops the node and waits for it.
func (n *Node) Shutdown() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// natsLog sends the NATS server's log to slog.
type natsLog struct{ l *slog.Logger }

func (g *natsLog) Noticef(f string, v ...any) { g.l.Debug(fmt.Sprintf(f, v...)) }
func (g *natsLog) Warnf(f string, v ...any)   { g.l.Warn(fmt.Sprintf(f, v...)) }
func (g *natsLog) Fatalf(f string, v ...any)  { g.l.Error(fmt.Sprintf(f, v...)) }
func (g *natsLog) Errorf(f string, v ...any)  { g.l.Error(fmt.Sprintf(f, v...)) }
func (g *natsLog) Debugf(f string, v ...any)  { g.l.Debug(fmt.Sprintf(f, v...)) }
func (g *natsLog) Tracef(f string, v ...any)  {}
