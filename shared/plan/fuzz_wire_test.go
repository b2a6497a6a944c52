package plan

import (
	"errors"
	"slices"
	"testing"

	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/wire"
)

// allCollections is every collection of every kind, in a fixed order, so a
// fuzzer's byte picks one by index instead of having to guess a name.
func allCollections() []*Collection {
	return append(Collections(Student), Collections(School)...)
}

// sampleValue is a value f accepts, to seed the fuzzer with valid records.
func sampleValue(f *Field) any {
	switch f.Type {
	case TypeBool:
		return true
	case TypeInt:
		return f.Min
	case TypeNumber:
		return 2.5
	case TypeEnum:
		return f.Enum[0]
	case TypeDate:
		return "2024-02-29"
	case TypeTimestamp:
		return "2025-03-14T16:30:00-05:00"
	case TypeID:
		return "01900000-0000-7000-8000-000000000001"
	case TypeLang:
		return "es-MX"
	case TypeList:
		return []any{sampleValue(f.Elem)}
	case TypeObject:
		m := map[string]any{}
		for i := range f.Fields {
			m[f.Fields[i].Name] = sampleValue(&f.Fields[i])
		}
		return m
	}
	return "read every night"
}

// FuzzValidateEncoded validates fields the way the server gets them: msgpack
// bytes decoded and normalized (record.Op.Validate), for a collection the
// first byte picks, so that every collection of both kinds is reachable.
// Validation must not panic, must answer with *Error and a known code, the
// same way twice, and fields it accepts must still be accepted after
// crossing the wire again.
func FuzzValidateEncoded(f *testing.F) {
	for i, c := range allCollections() {
		fields := map[string]any{}
		for j := range c.Fields {
			fields[c.Fields[j].Name] = sampleValue(&c.Fields[j])
		}
		b, err := wire.MarshalValue(fields)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
		if err := ValidateRecord(c.Kind, c.Name, fields); err != nil {
			f.Fatalf("sample %s is invalid: %v", c.Name, err)
		}
	}
	f.Fuzz(func(t *testing.T, sel uint8, b []byte) {
		all := allCollections()
		c := all[int(sel)%len(all)]
		v, err := wire.UnmarshalValue(b)
		fields, ok := v.(map[string]any)
		if err != nil || !ok {
			// Not a map: the bytes as text, in the field sel names.
			fields = map[string]any{c.Fields[int(sel)/len(all)%len(c.Fields)].Name: string(b)}
		}
		for k, v := range fields {
			n, err := record.NormalizeValue(v)
			if err != nil {
				return // the server refuses the op before the schema sees it
			}
			fields[k] = n
		}
		for _, validate := range []func(SpaceKind, string, map[string]any) error{ValidateFields, ValidateRecord} {
			err := validate(c.Kind, c.Name, fields)
			if err == nil {
				enc, err := wire.MarshalValue(fields)
				if err != nil {
					t.Fatalf("accepted fields do not encode: %v", err)
				}
				v, err := wire.UnmarshalValue(enc)
				again, ok := v.(map[string]any)
				if err != nil || !ok {
					t.Fatalf("accepted fields do not decode: %v", err)
				}
				for k, v := range again {
					again[k], _ = record.NormalizeValue(v)
				}
				if err := validate(c.Kind, c.Name, again); err != nil {
					t.Fatalf("%s: accepted fields refused after a round trip: %v", c.Name, err)
				}
				continue
			}
			var e *Error
			if !errors.As(err, &e) || !slices.Contains(allCodes, e.Code) {
				t.Fatalf("%s: error %T %v has no known code", c.Name, err, err)
			}
			if again := validate(c.Kind, c.Name, fields); again == nil || again.Error() != err.Error() {
				t.Fatalf("%s: not deterministic: %v then %v", c.Name, err, again)
			}
		}
	})
}
