package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseFuzzOutput(t *testing.T) {
	ok := []byte(`fuzz: elapsed: 0s, gathering baseline coverage: 0/31 completed
fuzz: elapsed: 0s, gathering baseline coverage: 31/31 completed, now fuzzing with 2 workers
fuzz: elapsed: 3s, execs: 51234 (17077/sec), new interesting: 2 (total: 33)
fuzz: elapsed: 5s, execs: 90210 (19001/sec), new interesting: 3 (total: 34)
PASS
ok  	github.com/plansync/plansync/shared/wire	5.1s
`)
	if r := ParseFuzzOutput(ok); r.Execs != 90210 || r.Crashes != 0 {
		t.Errorf("pass: %+v", r)
	}
	crash := []byte(`fuzz: elapsed: 3s, execs: 1200 (400/sec), new interesting: 0 (total: 4)
--- FAIL: FuzzX (3.10s)
    --- FAIL: FuzzX (0.00s)
        x_test.go:9: boom
    Failing input written to testdata/fuzz/FuzzX/1f2e
FAIL
`)
	if r := ParseFuzzOutput(crash); r.Execs != 1200 || r.Crashes != 1 {
		t.Errorf("crash: %+v", r)
	}
	race := []byte(`fuzz: elapsed: 4s, execs: 136734 (32279/sec), new interesting: 1 (total: 380)
--- FAIL: FuzzDecodeRoundTrip (4.68s)
    context deadline exceeded
FAIL
`)
	if r := ParseFuzzOutput(race); r.Execs != 136734 || r.Crashes != 0 {
		t.Errorf("deadline race counted as a crash: %+v", r)
	}
}

func TestSimulationLine(t *testing.T) {
	var out, errs bytes.Buffer
	m := NewMain()
	if err := m.ParseFlags([]string{"-duration", "300ms", "-only", "sim"}); err != nil {
		t.Fatal(err)
	}
	m.Stdout, m.Stderr = &out, &errs
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	line := out.String()
	if !strings.HasPrefix(line, `{"scenario":"simulation","seeds":`) || !strings.Contains(line, `"failures":0`) {
		t.Errorf("line %q", line)
	}
}

// TestFuzzLine runs one target for a moment through the go command, as
// make soak does. It needs the go command and a build, so it is skipped in
// -short runs.
func TestFuzzLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a fuzz binary")
	}
	if _, err := os.Stat("../../../../go.mod"); err != nil {
		t.Skip("not in the source tree")
	}
	m := NewMain()
	var errs bytes.Buffer
	m.Stderr = &errs
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := m.fuzz(ctx, "../../../..", Target{"shared/wire", "FuzzCheckShape"}, time.Second)
	if res.Err != nil || res.Execs == 0 || res.Crashes != 0 {
		t.Fatalf("%+v\n%s", res, errs.String())
	}
}
