package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
	"github.com/plansync/plansync/shared/wire"
)

// MaxPageScan bounds the log entries one Changes call reads, so that a call
// stays bounded in time even when most entries are skipped (a record edited
// thousands of times is sent once, at its newest seq). It is also below
// wire.MaxArrayLen, so a page always decodes.
const MaxPageScan = 4096 // log entries

// Changes returns the records of space changed after seq after, each in its
// newest state and at most once, up to about maxBytes of encoded records
// (at least one record when any remain).
//
// A log entry whose record has changed again later is skipped: the record
// goes out at its later position. So a page never carries a record twice,
// and a first sync of a space of N records sends N records. To is the last
// seq read, skipped or not; More says the log continues past it.
func (s *Store) Changes(ctx context.Context, space uuid.UUID, after uint64, maxBytes int) (server.Page, error) {
	var p server.Page
	err := s.db.View(func(txn *badger.Txn) error {
		head, err := readHead(txn, space)
		if err != nil {
			return err
		}
		head = s.synced.limit(space, head) // only what is fsynced (see syncedHeads)
		p = server.Page{From: after, To: head}
		if after >= head {
			return nil
		}
		p.To = after
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = logPrefix(space)
		it := txn.NewIterator(opts)
		defer it.Close()
		size := 0
		scanned := 0
		stopped := false
		for it.Seek(logKey(space, after+1)); it.ValidForPrefix(opts.Prefix) && scanned < MaxPageScan; it.Next() {
			if scanned%256 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			scanned++
			item := it.Item()
			seq := seqSuffix(item.Key())
			if seq > head {
				break // written, not yet fsynced
			}
			var ref logRef
			if err := item.Value(func(v []byte) error { return unmarshal(v, &ref) }); err != nil {
				s.quarantined(record.Key{Space: space}, fmt.Errorf("%w: log entry %d: %w", errUndecodable, seq, err))
				p.To = seq
				continue
			}
			key := record.Key{Space: space, Collection: ref.Op.Collection, ID: ref.Op.ID}
			raw, err := getRaw(txn, recordKey(key))
			if err != nil {
				return fmt.Errorf("store: record of log entry %s/%d: %w", space, seq, err)
			}
			rec, err := record.Unmarshal(raw)
			if err != nil {
				// Quarantined: the rest of the space still syncs.
				s.quarantined(key, fmt.Errorf("%w: %w", errUndecodable, err))
				p.To = seq
				continue
			}
			if rec.Seq > head {
				// Changed again by a group not yet fsynced, whose state
				// may not go out. Skipping this entry would leave the
				// device without the state that group's fan-out (an op to
				// apply to its copy) builds on, so the page ends before
				// it, with More unset: that fan-out starts past the page,
				// which sends the device back here once it is durable.
				stopped = true
				break
			}
			if rec.Seq > seq {
				p.To = seq // superseded: sent at its later position
				continue
			}
			if len(p.Records) > 0 && size+len(raw) > maxBytes {
				break
			}
			size += len(raw)
			p.Records = append(p.Records, rec)
			p.To = seq
		}
		p.More = p.To < head && !stopped
		return nil
	})
	if err != nil {
		return server.Page{}, fmt.Errorf("store: changes of %s after %d: %w", space, after, err)
	}
	return p, nil
}

// AllRecords reads every record of a space, page by page: for the checks
// of the reliability proofs and tests, which compare a whole space.
func (s *Store) AllRecords(ctx context.Context, space uuid.UUID) (map[record.Key]*record.Record, error) {
	out := map[record.Key]*record.Record{}
	for after := uint64(0); ; {
		p, err := s.Changes(ctx, space, after, 4<<20)
		if err != nil {
			return nil, err
		}
		for _, r := range p.Records {
			out[r.Key()] = r
		}
		if !p.More || p.To <= after {
			return out, nil
		}
		after = p.To
	}
}

// logRef decodes only the record a log entry names, skipping its values.
type logRef struct {
	Op struct {
		Collection string    `msgpack:"c"`
		ID         uuid.UUID `msgpack:"i"`
	} `msgpack:"o"`
}

// DecodeWire reads the op's c and i and skips everything else, so a scan
// of the log costs no value decoding.
func (l *logRef) DecodeWire(r *wire.Reader) error {
	return r.Map(func(k string) error {
		if k != "o" {
			return r.Skip()
		}
		return r.Map(func(k string) (err error) {
			switch k {
			case "c":
				l.Op.Collection, err = r.String()
			case "i":
				err = l.Op.ID.DecodeWire(r)
			default:
				err = r.Skip()
			}
			return err
		})
	})
}

// Head returns the space's latest sequence number (0 when empty).
func (s *Store) Head(ctx context.Context, space uuid.UUID) (uint64, error) {
	var h uint64
	err := s.db.View(func(txn *badger.Txn) (err error) {
		h, err = readHead(txn, space)
		return err
	})
	return s.synced.limit(space, h), err
}

// Record returns one record, or server.ErrNotFound.
func (s *Store) Record(ctx context.Context, key record.Key) (*record.Record, error) {
	var rec *record.Record
	err := s.db.View(func(txn *badger.Txn) (err error) {
		rec, err = getRecord(txn, recordKey(key))
		return err
	})
	return rec, err
}

// History returns the log entries of one record, oldest first: who changed
// what, when, and the base each write saw.
func (s *Store) History(ctx context.Context, key record.Key) ([]server.LogEntry, error) {
	var out []server.LogEntry
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = historyPrefix(key)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			seq := seqSuffix(it.Item().Key())
			raw, err := getRaw(txn, logKey(key.Space, seq))
			if err != nil {
				return fmt.Errorf("store: log entry %d of %s/%s: %w", seq, key.Collection, key.ID, err)
			}
			e, err := decodeLogEntry(raw)
			if err != nil {
				return fmt.Errorf("store: log entry %d of %s/%s: %w", seq, key.Collection, key.ID, err)
			}
			out = append(out, e)
		}
		return ctx.Err()
	})
	return out, err
}

// decodeLogEntry decodes a log entry and normalizes its values as
// record.Op.Validate does, so that they compare alike with the original.
func decodeLogEntry(b []byte) (server.LogEntry, error) {
	var e server.LogEntry
	if err := unmarshal(b, &e); err != nil {
		return e, err
	}
	if e.Format > record.FormatVersion {
		return e, fmt.Errorf("log entry format version %d not supported (this build reads 1 to %d)", e.Format, record.FormatVersion)
	}
	for i := range e.Op.Writes {
		v, err := record.NormalizeValue(e.Op.Writes[i].Value)
		if err != nil {
			return e, fmt.Errorf("field %q: %w", e.Op.Writes[i].Name, err)
		}
		e.Op.Writes[i].Value = v
	}
	return e, nil
}

// readHead returns the space's head as of txn.
func readHead(txn *badger.Txn, space uuid.UUID) (uint64, error) {
	b, err := getRaw(txn, idKey(kindHead, space))
	if errors.Is(err, server.ErrNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("store: head of %s: %w", space, err)
	}
	if len(b) != seqLen {
		return 0, fmt.Errorf("store: head of %s is %d bytes", space, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// getRecord returns the record stored at key, or server.ErrNotFound.
func getRecord(txn *badger.Txn, key []byte) (*record.Record, error) {
	b, err := getRaw(txn, key)
	if err != nil {
		return nil, err
	}
	rec, err := record.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUndecodable, err)
	}
	return rec, nil
}

// errUndecodable marks a stored record this build cannot decode. Such a
// record is quarantined: reported (Store.quarantined), skipped by catch-up
// and refused to ops (server.ErrUnreadable), never failing a commit group,
// another space or the rest of its own space.
var errUndecodable = errors.New("store: stored record does not decode")

// getRaw returns a copy of the value at key, or server.ErrNotFound.
func getRaw(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, server.ErrNotFound
	} else if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}
