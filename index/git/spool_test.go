package gitindex

import (
	"bytes"
	"testing"
)

// Packs waiting for their clients share a memory budget: past it they go
// to temporary files, and they still send their whole content.
func TestSpoolMemoryBudget(t *testing.T) {
	const max = 1 << 20
	budget := &spoolBudget{max: max}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	var spools []*spool
	for range 8 { // 8 packs of 512 KiB: four times the budget
		s := &spool{mem: budget}
		for range 8 {
			if _, err := s.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		if used := budget.used.Load(); used > max {
			t.Fatalf("spools hold %d bytes in memory, budget %d", used, max)
		}
		spools = append(spools, s)
	}
	files := 0
	for _, s := range spools {
		if s.f != nil {
			files++
		}
		var out bytes.Buffer
		if n, err := s.WriteTo(&out); err != nil || n != 8*int64(len(chunk)) {
			t.Errorf("WriteTo: %d bytes, %v", n, err)
		}
	}
	if files == 0 || files == len(spools) {
		t.Errorf("%d of %d spools in files: want those past the budget only", files, len(spools))
	}
	for _, s := range spools {
		s.Close()
	}
	if used := budget.used.Load(); used != 0 {
		t.Errorf("%d bytes still counted after every spool closed", used)
	}
}
