package record

import (
	"fmt"

	"github.com/plansync/plansync/shared/wire"
)

// Marshal encodes a record for storage or the wire, stamped with the
// current format version. It encodes a shallow copy and leaves r untouched,
// so callers may pass records that others read concurrently (a view's or a
// server's) without cloning them first.
func Marshal(r *Record) ([]byte, error) {
	c := *r
	c.Format = FormatVersion
	return wire.Marshal(&c)
}

// Unmarshal decodes and checks one encoded record. Unknown format versions,
// malformed bytes and values the merge rules cannot hold are errors.
func Unmarshal(b []byte) (*Record, error) {
	r := new(Record)
	if err := wire.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	return r, nil
}

// Check verifies a decoded record's format version and normalizes its
// values (see Op.Validate), so that records from any source compare alike.
func (r *Record) Check() error {
	if r.Format == 0 || r.Format > FormatVersion {
		return fmt.Errorf("record: format version %d not supported (this build reads 1 to %d)", r.Format, FormatVersion)
	}
	if r.Fields == nil {
		r.Fields = map[string]*Field{}
	}
	for name, f := range r.Fields {
		if f == nil {
			return fmt.Errorf("record: field %q is empty", name)
		}
		v, err := NormalizeValue(f.Value)
		if err != nil {
			return fmt.Errorf("record: field %q: %w", name, err)
		}
		f.Value = v
		for i := range f.Conflicts {
			v, err := NormalizeValue(f.Conflicts[i].Value)
			if err != nil {
				return fmt.Errorf("record: field %q conflict: %w", name, err)
			}
			f.Conflicts[i].Value = v
		}
	}
	return nil
}
