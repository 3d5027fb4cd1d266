package owner

import (
	"context"
	"testing"
)

// BenchmarkEnrichStop measures the ownership part of one stop request
// against the fake Docker API over a unix socket: with the events stream up
// (cache hits) and without (one inspect per request).
func BenchmarkEnrichStop(b *testing.B) {
	for _, live := range []bool{true, false} {
		name := "cached"
		if !live {
			name = "uncached"
		}
		b.Run(name, func(b *testing.B) {
			f := newFakeDocker(b)
			f.addContainer(id64("a1"), "aweb", "alice", true)
			r, err := New(Config{Host: f.host()})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			if live {
				r.Start()
				for !r.Live() {
				}
			}
			e := &Enricher{R: r}
			facts := mustNormalize(b, "POST", "/v1.41/containers/aweb/stop", nil)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.Enrich(context.Background(), alice(), facts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
