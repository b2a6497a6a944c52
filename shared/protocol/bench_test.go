package protocol

import (
	"fmt"
	"strings"
	"testing"

	"github.com/plansync/plansync/shared/hlc"
	"github.com/plansync/plansync/shared/record"
	"github.com/plansync/plansync/shared/uuid"
)

// benchPush is a push of 500 creates of records shaped like the benchmark's
// (five fields, about 300 bytes of JSON).
func benchPush() *Push {
	sp := uuid.Must(uuid.NewV7())
	p := &Push{Batch: 1}
	words := strings.Fields("mortgage circle filter helmet default number detail dinner blanket database ceiling bracket arrival dashboard income client button")
	for i := 0; i < MaxOpsPerPush; i++ {
		var desc strings.Builder
		for desc.Len() < 180 {
			desc.WriteString(words[(i*7+desc.Len())%len(words)])
			desc.WriteByte(' ')
		}
		p.Ops = append(p.Ops, record.Op{Space: sp, Collection: "items", ID: uuid.Must(uuid.NewV7()), HLC: hlc.New(1_700_000_000_000+int64(i), 0),
			Writes: []record.Write{
				{Name: "title", Value: fmt.Sprintf("fixture account earning museum #%d", i)},
				{Name: "description", Value: desc.String()},
				{Name: "status", Value: "open"},
				{Name: "owner", Value: fmt.Sprintf("user-%d@example.com", i*7919%1000)},
				{Name: "updatedAt", Value: "2024-01-01T00:00:00.000Z"},
			}})
	}
	return p
}

func BenchmarkEncodePush500(b *testing.B) {
	p := benchPush()
	var n int
	for b.Loop() {
		f, err := Encode(p)
		if err != nil {
			b.Fatal(err)
		}
		n = len(f)
	}
	b.ReportMetric(float64(n)/float64(len(p.Ops)), "wire-bytes/op")
	b.ReportMetric(float64(b.N*len(p.Ops))/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkDecodePush500(b *testing.B) {
	p := benchPush()
	f, _ := Encode(p)
	for b.Loop() {
		if _, err := Decode(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(p.Ops))/b.Elapsed().Seconds(), "ops/s")
}
