package web

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
	"testing"
)

// Icon colours, the same as icons/icon.svg and the manifest's theme.
var (
	iconBackground = color.NRGBA{0x1f, 0x5f, 0x8b, 0xff}
	iconSheet      = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	iconMark       = color.NRGBA{0x2e, 0x8b, 0x57, 0xff}
)

// drawIcon draws the app icon (a sheet with a check mark on a blue square)
// at size×size, with 4×4 supersampling for smooth edges. The shapes sit in
// the middle 70%, inside the safe zone of a maskable icon, so one PNG
// serves both purposes.
func drawIcon(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	for y := range size {
		for x := range size {
			var r, g, b, a float64
			for sy := range ss {
				for sx := range ss {
					u := (float64(x) + (float64(sx)+0.5)/ss) / float64(size)
					v := (float64(y) + (float64(sy)+0.5)/ss) / float64(size)
					c := iconAt(u, v)
					r += float64(c.R)
					g += float64(c.G)
					b += float64(c.B)
					a += float64(c.A)
				}
			}
			n := float64(ss * ss)
			img.SetNRGBA(x, y, color.NRGBA{uint8(r / n), uint8(g / n), uint8(b / n), uint8(a / n)})
		}
	}
	return img
}

// iconAt is the icon's colour at (u, v) in the unit square, matching
// icons/icon.svg (whose viewBox is 0 0 100 100).
func iconAt(u, v float64) color.NRGBA {
	x, y := u*100, v*100
	// Check mark: two thick strokes.
	if distSeg(x, y, 33, 52, 45, 64) < 5 || distSeg(x, y, 45, 64, 68, 38) < 5 {
		return iconMark
	}
	// Sheet: rounded rectangle 25..75 × 18..82, radius 6.
	if inRoundRect(x, y, 25, 18, 75, 82, 6) {
		return iconSheet
	}
	return iconBackground
}

func inRoundRect(x, y, x0, y0, x1, y1, r float64) bool {
	if x < x0 || x > x1 || y < y0 || y > y1 {
		return false
	}
	cx := math.Max(x0+r, math.Min(x, x1-r))
	cy := math.Max(y0+r, math.Min(y, y1-r))
	return math.Hypot(x-cx, y-cy) <= r
}

func distSeg(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := ((px-ax)*dx + (py-ay)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(px-(ax+t*dx), py-(ay+t*dy))
}

// TestIcons checks that the PNG icons the manifest names exist at their
// sizes; with -update it draws them.
func TestIcons(t *testing.T) {
	for _, size := range []int{192, 512} {
		name := "icons/icon-" + strconv.Itoa(size) + ".png"
		if *update {
			var buf bytes.Buffer
			enc := png.Encoder{CompressionLevel: png.BestCompression}
			if err := enc.Encode(&buf, drawIcon(size)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.Width != size || cfg.Height != size {
			t.Errorf("%s is %dx%d, want %dx%d", name, cfg.Width, cfg.Height, size, size)
		}
	}
}
