package crash

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/diskstore"
	"github.com/plansync/plansync/client/wsdial"
	"github.com/plansync/plansync/shared/benchauth"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// Collection is the collection the harness's clients write to.
const Collection = "notes"

// Client settings: reconnect fast, so a restarted server is found within a
// few hundred milliseconds.
const (
	clientBackoffBase = 10 * time.Millisecond
	clientBackoffMax  = 100 * time.Millisecond
	clientDialTimeout = 5 * time.Second
)

// Edit is one op a client made: Put returned, so it is in the device's
// outbox. Every edit writes one unique Value into the client's own field
// (c0, c1, ...) of a record, so a value identifies its op and a field is
// written by one client only: a client's later edit of the same field is
// the only thing that may replace an earlier one.
type Edit struct {
	Client int
	Key    record.Key
	Field  string
	Value  string
}

// Ack is what the server answered for one op (client.Options.OnAck).
type Ack struct {
	Ref record.Ref // the op's identity: its HLC and the device
	Seq uint64     // the space sequence number the server reported
}

// writer is one native client: a real engine on a real on-disk store,
// connected over a real WebSocket, with a goroutine making edits.
type writer struct {
	k     int
	e     *client.Engine
	st    *diskstore.Store
	rand  *rand.Rand
	field string

	mu    sync.Mutex
	edits []Edit
	acks  map[string]Ack // by value
	next  int            // number of the next edit
}

// fleet is the clients of one run and the records they share.
type fleet struct {
	space   uuid.UUID
	writers []*writer

	keysMu  sync.Mutex
	keys    []record.Key // records created so far, by any client
	maxKeys int

	stop chan struct{}
	wg   sync.WaitGroup
	errs chan error
}

// openFleet opens n clients (bench users 0..n-1) with stores under dir,
// syncing with the server at addr. Each draws its choices from its own
// stream seeded from seed.
func openFleet(dir, addr string, n int, seed uint64, maxKeys int) (*fleet, error) {
	f := &fleet{space: benchauth.SpaceID, maxKeys: maxKeys, errs: make(chan error, n)}
	for k := range n {
		w := &writer{k: k, rand: rand.New(rand.NewPCG(seed, uint64(k)+1)), field: fmt.Sprintf("c%d", k), acks: map[string]Ack{}}
		st, err := diskstore.Open(filepath.Join(dir, fmt.Sprintf("client%d", k)))
		if err != nil {
			f.close()
			return nil, err
		}
		w.st = st
		w.e = client.New(client.Options{
			Store:       st,
			Transport:   &wsdial.Transport{URL: "ws://" + addr + "/sync"},
			Token:       benchauth.Token(k),
			BackoffBase: clientBackoffBase,
			BackoffMax:  clientBackoffMax,
			DialTimeout: clientDialTimeout,
			Rand:        rand.New(rand.NewPCG(seed, uint64(k)+1001)),
			OnAck:       w.onAck,
		})
		if err := w.e.Open(context.Background()); err != nil {
			_ = st.Close()
			f.close()
			return nil, err
		}
		f.writers = append(f.writers, w)
	}
	return f, nil
}

// onAck records an ack; it runs on the engine's sync goroutine.
func (w *writer) onAck(op record.Op, seq uint64) {
	v, _ := op.Writes[0].Value.(string)
	w.mu.Lock()
	if _, ok := w.acks[v]; !ok {
		w.acks[v] = Ack{Ref: record.Ref{HLC: op.HLC, Node: op.Node}, Seq: seq}
	}
	w.mu.Unlock()
}

// start runs one edit loop per client, each making an edit every
// minGap..maxGap until stopWriting.
func (f *fleet) start(minGap, maxGap time.Duration) {
	f.stop = make(chan struct{})
	for _, w := range f.writers {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if err := f.write(w, minGap, maxGap); err != nil {
				f.errs <- fmt.Errorf("client %d: %w", w.k, err)
			}
		}()
	}
}

func (f *fleet) write(w *writer, minGap, maxGap time.Duration) error {
	for {
		gap := minGap + time.Duration(w.rand.Int64N(int64(maxGap-minGap)+1))
		t := time.NewTimer(gap)
		select {
		case <-f.stop:
			t.Stop()
			return nil
		case <-t.C:
		}
		if err := f.edit(w); err != nil {
			return err
		}
	}
}

// edit makes one edit: a new record while there are few, else an update
// of a random record some client created (which this client may not have
// received yet: Put then creates its field on it, which merges).
func (f *fleet) edit(w *writer) error {
	f.keysMu.Lock()
	var key record.Key
	if n := len(f.keys); n == 0 || (n < f.maxKeys && w.rand.IntN(4) == 0) {
		key = record.Key{Space: f.space, Collection: Collection, ID: uuid.Must(uuid.NewV7())}
		f.keys = append(f.keys, key)
	} else {
		key = f.keys[w.rand.IntN(n)]
	}
	f.keysMu.Unlock()
	w.mu.Lock()
	n := w.next
	w.next++
	w.mu.Unlock()
	ed := Edit{Client: w.k, Key: key, Field: w.field, Value: fmt.Sprintf("c%d-%d", w.k, n)}
	if err := w.e.Put(context.Background(), key.Space, key.Collection, key.ID, map[string]any{ed.Field: ed.Value}); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	w.mu.Lock()
	w.edits = append(w.edits, ed)
	w.mu.Unlock()
	return nil
}

// stopWriting ends the edit loops, waits for them and returns the first
// error a writer stopped on, if any.
func (f *fleet) stopWriting() error {
	if f.stop != nil {
		close(f.stop)
		f.wg.Wait()
		f.stop = nil
	}
	return f.stopErr()
}

// waitSynced waits until every client has everything acked and holds the
// server's every change.
func (f *fleet) waitSynced(ctx context.Context) error {
	for _, w := range f.writers {
		if err := w.e.WaitSynced(ctx); err != nil {
			return fmt.Errorf("client %d not synced: %w (state %+v)", w.k, err, w.e.State())
		}
	}
	return nil
}

// snapshot returns every client's edits and acks so far.
func (f *fleet) snapshot() (edits []Edit, acks map[string]Ack) {
	acks = map[string]Ack{}
	for _, w := range f.writers {
		w.mu.Lock()
		edits = append(edits, w.edits...)
		for v, a := range w.acks {
			acks[v] = a
		}
		w.mu.Unlock()
	}
	return edits, acks
}

// close stops the writers and closes every engine and store.
func (f *fleet) close() {
	_ = f.stopWriting()
	for _, w := range f.writers {
		_ = w.e.Close()
		_ = w.st.Close()
	}
}

// stopErr returns the first error a writer stopped on, if any.
func (f *fleet) stopErr() error {
	select {
	case err := <-f.errs:
		return err
	default:
		return nil
	}
}

// converge waits until every client is synced and all see the same
// records, and returns what each sees. A client synced before another
// pushed its last edits receives them a moment later, as news.
func (f *fleet) converge(ctx context.Context) ([]map[record.Key]map[string][]any, error) {
	for {
		if err := f.waitSynced(ctx); err != nil {
			return f.views(), err
		}
		v := f.views()
		same := true
		for _, o := range v[1:] {
			same = same && reflect.DeepEqual(o, v[0])
		}
		if same {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("clients synced but still see different records: %s", diffViews(v[0], v[len(v)-1]))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// views returns what each client sees of the shared space.
func (f *fleet) views() []map[record.Key]map[string][]any {
	out := make([]map[record.Key]map[string][]any, len(f.writers))
	for i, w := range f.writers {
		recs := map[record.Key]*record.Record{}
		for _, r := range w.e.List(f.space, Collection) {
			recs[r.Key()] = r
		}
		out[i] = Views(recs)
	}
	return out
}
