package store

import (
	"bytes"
	"fmt"

	"github.com/plansync/plansync/shared/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// marshal encodes a value for storage. Types that encode themselves
// (records, log entries: what the browser shares or what every commit
// writes) go through package wire; the server's own account types, which
// never leave it, go through the msgpack library with compact integers,
// which writes the same conventions (shared/wire says why the two exist).
func marshal(v any) ([]byte, error) {
	if e, ok := v.(wire.Encoder); ok {
		return wire.Marshal(e)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// unmarshal decodes what marshal wrote, shape-checking first: stored bytes
// may come from a damaged disk. The library panics on some well-formed
// input (a map naming an interface-typed field twice makes it set a value
// it cannot address); that panic becomes an error here.
func unmarshal(b []byte, v any) (err error) {
	if d, ok := v.(wire.Decoder); ok {
		return wire.Unmarshal(b, d)
	}
	if err := wire.CheckShape(b); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", wire.ErrShape, r)
		}
	}()
	if err := msgpack.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", wire.ErrShape, err)
	}
	return nil
}
