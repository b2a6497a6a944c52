package record

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/plansync/plansync/shared/uuid"
)

// Limits on one op. They bound what a hostile or broken client can make the
// server store and every member download; the plan schema sets tighter
// per-field limits on top (shared/plan).
const (
	MaxWritesPerOp  = 64        // fields one op may set
	MaxNameLen      = 64        // bytes in a collection or field name
	MaxValueBytes   = 64 << 10  // bytes in one string or binary value
	MaxValueItems   = 256       // elements in one list or map value
	MaxValueDepth   = 4         // nesting of lists and maps in a value
	MaxOpValueBytes = 256 << 10 // total bytes of all values in one op
)

// ValidationError says which part of an op is wrong and why.
type ValidationError struct {
	Field  string // empty when the op itself is wrong
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "invalid op: " + e.Reason
	}
	return fmt.Sprintf("invalid op: field %q: %s", e.Field, e.Reason)
}

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ValidName reports whether s can name a collection or field: lower-case
// ASCII letters, digits and underscores, starting with a letter or, for
// system fields, an underscore.
func ValidName(s string) bool {
	if s == "" || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Validate checks an op's shape and normalizes its values in place (every
// integer becomes int64, every float float64) so that equal values compare
// equal whichever msgpack width carried them. It does not check the plan
// schema or who may write; those are shared/plan and the server's rules.
func (o *Op) Validate() error {
	if o.Space == uuid.Nil {
		return invalid("", "missing space")
	}
	if !ValidName(o.Collection) || o.Collection[0] == '_' {
		return invalid("", "bad collection name %q", truncate(o.Collection))
	}
	if o.ID.Version() != 7 || o.ID.Variant() != uuid.RFC4122 {
		return invalid("", "record id %s is not a UUIDv7", o.ID)
	}
	if o.HLC == 0 {
		return invalid("", "missing clock")
	}
	if len(o.Writes) == 0 {
		return invalid("", "no fields written")
	}
	if len(o.Writes) > MaxWritesPerOp {
		return invalid("", "%d fields written, limit %d", len(o.Writes), MaxWritesPerOp)
	}
	if len(o.Seen) > MaxWritesPerOp*2 {
		return invalid("", "seen list too long")
	}
	budget := MaxOpValueBytes
	names := make(map[string]struct{}, len(o.Writes))
	for i := range o.Writes {
		w := &o.Writes[i]
		if !ValidName(w.Name) {
			return invalid("", "bad field name %q", truncate(w.Name))
		}
		if _, dup := names[w.Name]; dup {
			return invalid(w.Name, "written twice in one op")
		}
		names[w.Name] = struct{}{}
		if len(w.Resolves) > MaxConflicts+1 {
			return invalid(w.Name, "resolves too many versions")
		}
		v, err := normalize(w.Value, 0, &budget)
		if err != nil {
			return invalid(w.Name, "%v", err)
		}
		w.Value = v
		if w.BaseText != "" {
			if _, text := v.(string); !text || w.Base == nil {
				return invalid(w.Name, "a base text goes only with a text written over a base")
			}
			if budget -= len(w.BaseText); budget < 0 || len(w.BaseText) > MaxValueBytes {
				return invalid(w.Name, "base text too long")
			}
		}
	}
	return nil
}

// Normalize normalizes the values of an op received from the server (see
// Validate), which already validated it in full.
func (o *Op) Normalize() error {
	budget := MaxOpValueBytes
	for i := range o.Writes {
		v, err := normalize(o.Writes[i].Value, 0, &budget)
		if err != nil {
			return invalid(o.Writes[i].Name, "%v", err)
		}
		o.Writes[i].Value = v
	}
	return nil
}

// NormalizeValue applies the same checks and normalization as Validate to
// one value (used by decoders of stored records and by clients).
func NormalizeValue(v any) (any, error) {
	budget := MaxOpValueBytes
	return normalize(v, 0, &budget)
}

func normalize(v any, depth int, budget *int) (any, error) {
	switch x := v.(type) {
	case nil, bool:
		return v, nil
	case string:
		if err := spend(budget, len(x)); err != nil {
			return nil, err
		}
		if !utf8.ValidString(x) {
			return nil, fmt.Errorf("text is not valid UTF-8")
		}
		return x, nil
	case []byte:
		if err := spend(budget, len(x)); err != nil {
			return nil, err
		}
		return x, nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d out of range", x)
		}
		return int64(x), nil
	case uint:
		return normalize(uint64(x), depth, budget)
	case float32:
		return normalize(float64(x), depth, budget)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("number is not finite")
		}
		return x, nil
	case []any:
		if depth >= MaxValueDepth {
			return nil, fmt.Errorf("nested deeper than %d", MaxValueDepth)
		}
		if len(x) > MaxValueItems {
			return nil, fmt.Errorf("list of %d items, limit %d", len(x), MaxValueItems)
		}
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		if depth >= MaxValueDepth {
			return nil, fmt.Errorf("nested deeper than %d", MaxValueDepth)
		}
		if len(x) > MaxValueItems {
			return nil, fmt.Errorf("map of %d entries, limit %d", len(x), MaxValueItems)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if err := spend(budget, len(k)); err != nil {
				return nil, err
			}
			if !utf8.ValidString(k) {
				return nil, fmt.Errorf("map key is not valid UTF-8")
			}
			n, err := normalize(e, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unsupported value type %T", v)
	}
}

func spend(budget *int, n int) error {
	if n > MaxValueBytes {
		return fmt.Errorf("value of %d bytes, limit %d", n, MaxValueBytes)
	}
	*budget -= n
	if *budget < 0 {
		return fmt.Errorf("op values exceed %d bytes", MaxOpValueBytes)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
