package translate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Apertium runs Debian's apertium (with its language pairs, such as
// apertium-eng-spa) as a bounded pool of processes: at most Procs
// translations run at once, each its own `apertium -u MODE` process fed
// the text on stdin, killed (its whole process group: apertium is a shell
// pipeline) when it runs past Timeout.
//
// Why a pool: each apertium pipeline loads its dictionaries and
// transducers and takes a core while it runs; a burst of notes (a teacher
// posting to thirty families) must not fork thirty pipelines on a
// two-core server that is also committing everyone's edits. The pool
// bounds the CPU and memory translation can take; work past it waits up
// to QueueWait and then fails with ErrBusy, to be tried again with the
// text's next change. One process per text, rather than long-lived ones
// with null flushing, because a process that hangs or crashes on one
// odd text then costs that text alone.
type Apertium struct {
	o     ApertiumOptions
	modes map[string]string // "en>es" -> "eng-spa"
	slots chan struct{}
}

// ApertiumOptions configure the pool; zero values take the defaults.
type ApertiumOptions struct {
	Command   string        // "apertium" (found in PATH)
	Procs     int           // processes at once, default 2
	Timeout   time.Duration // per text, default 30 s
	QueueWait time.Duration // for a free slot, default 1 min
	MaxInput  int           // bytes, default DefaultMaxInput
}

// Defaults for ApertiumOptions.
const (
	DefaultApertiumProcs     = 2
	DefaultApertiumTimeout   = 30 * time.Second
	DefaultApertiumQueueWait = time.Minute
	// maxOutputFactor bounds what a process may print per input byte.
	maxOutputFactor = 8
)

// ErrNotInstalled says the apertium command is not on this machine.
var ErrNotInstalled = errors.New("translate: apertium is not installed (apt-get install apertium apertium-eng-spa)")

// iso3 maps the two-letter codes people's profiles carry to the
// three-letter ones Apertium's Debian pairs are named with.
var iso3 = map[string]string{
	"en": "eng", "es": "spa", "ca": "cat", "pt": "por", "fr": "fra", "it": "ita", "de": "deu",
	"gl": "glg", "eu": "eus", "oc": "oci", "ar": "ara", "ro": "ron", "nl": "nld", "af": "afr",
}

// NewApertium finds the command and its installed pairs (`apertium -l`).
func NewApertium(ctx context.Context, o ApertiumOptions) (*Apertium, error) {
	if o.Command == "" {
		o.Command = "apertium"
	}
	if o.Procs <= 0 {
		o.Procs = DefaultApertiumProcs
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultApertiumTimeout
	}
	if o.QueueWait <= 0 {
		o.QueueWait = DefaultApertiumQueueWait
	}
	if o.MaxInput <= 0 {
		o.MaxInput = DefaultMaxInput
	}
	path, err := exec.LookPath(o.Command)
	if err != nil {
		return nil, ErrNotInstalled
	}
	o.Command = path
	a := &Apertium{o: o, modes: map[string]string{}, slots: make(chan struct{}, o.Procs)}
	out, err := a.run(ctx, "", "-l")
	if err != nil {
		return nil, fmt.Errorf("translate: listing apertium's pairs: %w", err)
	}
	two := map[string]string{}
	for k, v := range iso3 {
		two[v] = k
	}
	for _, line := range strings.Split(out, "\n") {
		mode := strings.TrimSpace(line)
		from, to, ok := strings.Cut(mode, "-")
		if !ok || len(from) != 3 || len(to) != 3 { // "spa-eng_US" and the like are variants
			continue
		}
		if f, t := two[from], two[to]; f != "" && t != "" {
			a.modes[f+">"+t] = mode
		}
	}
	if len(a.modes) == 0 {
		return nil, fmt.Errorf("translate: apertium has no language pairs installed (apt-get install apertium-eng-spa)")
	}
	return a, nil
}

// Name implements Engine.
func (*Apertium) Name() string { return "Apertium" }

// Supports implements Engine.
func (a *Apertium) Supports(_ context.Context, from, to string) (bool, error) {
	_, ok := a.modes[base(from)+">"+base(to)]
	return ok, nil
}

// Translate implements Engine.
func (a *Apertium) Translate(ctx context.Context, text, from, to string) (string, error) {
	mode, ok := a.modes[base(from)+">"+base(to)]
	if !ok {
		return "", fmt.Errorf("%w: %s to %s", ErrUnsupported, from, to)
	}
	if err := checkInput(text, a.o.MaxInput); err != nil {
		return "", err
	}
	if strings.TrimSpace(text) == "" {
		return text, nil
	}
	// -u: no marks on unknown words (a name stays as written).
	out, err := a.run(ctx, text, "-u", mode)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(text, "\n") {
		out = strings.TrimSuffix(out, "\n")
	}
	return out, nil
}

// run runs one apertium process in a pool slot.
func (a *Apertium) run(ctx context.Context, stdin string, args ...string) (string, error) {
	wait, cancel := context.WithTimeout(ctx, a.o.QueueWait)
	select {
	case a.slots <- struct{}{}:
		cancel()
	case <-wait.Done():
		cancel()
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", ErrBusy
	}
	defer func() { <-a.slots }()
	ctx, stop := context.WithTimeout(ctx, a.o.Timeout)
	defer stop()
	cmd := exec.CommandContext(ctx, a.o.Command, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	cmd.Stdin = strings.NewReader(stdin)
	out := &limitedBuffer{max: maxOutputFactor*len(stdin) + 64<<10}
	var errb limitedBuffer
	errb.max = 4 << 10
	cmd.Stdout, cmd.Stderr = out, &errb
	err := cmd.Run()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "", fmt.Errorf("translate: apertium %s took longer than %s", strings.Join(args, " "), a.o.Timeout)
	case err != nil:
		return "", fmt.Errorf("translate: apertium %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	case out.over:
		return "", fmt.Errorf("translate: apertium printed more than %d bytes", out.max)
	}
	return out.String(), nil
}

// limitedBuffer keeps at most max bytes and notes that more came.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
