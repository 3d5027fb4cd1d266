package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// BenchmarkWriteParallel measures durable writes (real file, fsync on) from
// many concurrent goroutines, as the plugin does under load, and reports how
// many records share each fsync.
func BenchmarkWriteParallel(b *testing.B) {
	for _, par := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("goroutines=%dxGOMAXPROCS", par), func(b *testing.B) {
			benchWrite(b, par, nil)
		})
	}
}

// BenchmarkWriteSignedRotating is BenchmarkWriteParallel with what a
// production trail adds: signed checkpoints every 100 records and rotation
// every MiB, to show they cost little next to the fsync.
func BenchmarkWriteSignedRotating(b *testing.B) {
	signer, _ := testSigner(b)
	benchWrite(b, 32, func(o *Options) {
		o.Signer, o.CheckpointEvery, o.MaxSize = signer, 100, 1<<20
		o.HMACKey = []byte("bench-hmac-key-0123456789")
	})
}

func benchWrite(b *testing.B, par int, mod func(*Options)) {
	path := filepath.Join(b.TempDir(), "audit.jsonl")
	opts := Options{Host: "bench", Logger: &quietLogger{}}
	if mod != nil {
		mod(&opts)
	}
	l, err := Open(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(par)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			r := newRec("bench", int(n.Add(1)))
			r.Headers = map[string]string{"Content-Type": "application/json", "X-Registry-Auth": "secret"}
			if err := l.Write(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	st := l.Stats()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if st.Syncs > 0 {
		b.ReportMetric(float64(st.Records)/float64(st.Syncs), "records/fsync")
	}
	files, _ := TrailFiles(path)
	head, _ := l.Head()
	if sum, err := VerifyTrail(VerifyOptions{}, files...); err != nil || sum.LastSeq != head || head < st.Records {
		b.Fatalf("verify: %+v %v", sum, err)
	}
}

// BenchmarkWriteSerial is one writer at a time: one fsync per record, the
// cost group commit avoids.
func BenchmarkWriteSerial(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "audit.jsonl"), Options{Host: "bench", Logger: &quietLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := l.Write(ctx, newRec("bench", i)); err != nil {
			b.Fatal(err)
		}
	}
}
