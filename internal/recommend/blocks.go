package recommend

import (
	"fmt"
	"math"
	"sort"
)

const (
	blockSeconds = 6 * 3600
	// ringBlocks covers 28 days of 6-hour blocks.
	ringBlocks = 112
)

// blocks keeps, for the last 28 days, each 6-hour block's peak, sum and
// count: 1.1 KiB. The newest block is the one being filled.
type blocks struct {
	peak   [ringBlocks]float32
	sum    [ringBlocks]float32
	count  [ringBlocks]uint16
	newest int64 // index (t / blockSeconds) of the newest block
	first  int64 // index of the first block ever seen
	seen   bool  // a sample came
}

func (b *blocks) add(t int64, u float64) {
	i := t / blockSeconds
	switch {
	case !b.seen:
		b.newest, b.first, b.seen = i, i, true
	case i > b.newest:
		for j := b.newest + 1; j <= i && j <= b.newest+ringBlocks; j++ {
			k := j % ringBlocks
			b.peak[k], b.sum[k], b.count[k] = 0, 0, 0
		}
		b.newest = i
	case i <= b.newest-ringBlocks:
		return // older than the ring
	}
	k := i % ringBlocks
	if float32(u) > b.peak[k] {
		b.peak[k] = float32(u)
	}
	b.sum[k] += float32(u)
	if b.count[k] < math.MaxUint16 {
		b.count[k]++
	}
}

// peaks returns the peaks of the blocks with data in the last n blocks.
func (b *blocks) peaks(n int) []float64 {
	out, _ := b.indexedPeaks(n)
	return out
}

// indexedPeaks are peaks with each block's index (t / blockSeconds).
func (b *blocks) indexedPeaks(n int) (peaks []float64, idx []int64) {
	for j := b.newest; j > b.newest-int64(n) && j >= b.first; j-- {
		k := j % ringBlocks
		if b.count[k] > 0 {
			peaks = append(peaks, float64(b.peak[k]))
			idx = append(idx, j)
		}
	}
	return peaks, idx
}

// span says how much of the last n blocks the history covers, in words:
// "14 days", or "18 hours" under a day. The newest block, still filling,
// counts whole.
func (b *blocks) span(n int) string {
	if !b.seen {
		return "0 hours"
	}
	c := min(int64(n), b.newest-b.first+1, ringBlocks)
	if c < 4 {
		return fmt.Sprintf("%d hours", c*blockSeconds/3600)
	}
	return fmt.Sprintf("%d days", (c+2)/4)
}

func (b *blocks) max(n int) float64 {
	m := 0.0
	for _, p := range b.peaks(n) {
		m = math.Max(m, p)
	}
	return m
}

func (b *blocks) mean(n int) float64 {
	var s float64
	var c float64
	for j := b.newest; j > b.newest-int64(n) && j >= b.first; j-- {
		k := j % ringBlocks
		s += float64(b.sum[k])
		c += float64(b.count[k])
	}
	if c == 0 {
		return 0
	}
	return s / c
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[(len(s)-1)/2]
}

const blocksBytes = ringBlocks*(4+4+2) + 24
