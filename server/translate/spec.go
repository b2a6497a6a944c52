package translate

import (
	"context"
	"fmt"
	"strings"
)

// FromSpec makes the engine a --translate flag names: "apertium",
// "libretranslate:URL", or "off" (and "") for none, which returns a nil
// Engine: then nothing is translated and nothing says it is.
func FromSpec(ctx context.Context, spec string) (Engine, error) {
	switch {
	case spec == "" || spec == "off":
		return nil, nil
	case spec == "apertium":
		a, err := NewApertium(ctx, ApertiumOptions{})
		if err != nil {
			return nil, err
		}
		return a, nil
	case strings.HasPrefix(spec, "libretranslate:"):
		return NewLibreTranslate(LibreOptions{URL: strings.TrimPrefix(spec, "libretranslate:")})
	}
	return nil, fmt.Errorf("translate: unknown engine %q (apertium, libretranslate:URL or off)", spec)
}

// Available reports whether apertium with a pair is installed here (the
// seeded demo turns it on when it is).
func Available(ctx context.Context) bool {
	_, err := NewApertium(ctx, ApertiumOptions{})
	return err == nil
}
