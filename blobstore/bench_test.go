package blobstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"
)

// BenchmarkPut stores distinct 1 MiB and 32 MiB blobs one after another
// (each fsynced): what the hashing of a Put (SHA-256, MD5, and the chunk
// digests of blobs over the whole-verify size) costs next to the disk.
//
//	go test ./blobstore -run '^$' -bench Put
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{1 << 20, 32 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			s, err := OpenFS(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			body := make([]byte, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				binary.LittleEndian.PutUint64(body, uint64(i)) // a new digest each time
				if _, err := s.Put(context.Background(), bytes.NewReader(body), -1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
