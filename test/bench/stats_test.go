package bench_test

import (
	"fmt"
	"slices"
	"time"
)

// series is one figure's values over the runs, in the figure's unit.
type series []float64

func (s series) sorted() []float64 {
	v := slices.Clone(s)
	slices.Sort(v)
	return v
}

func (s series) median() float64 {
	v := s.sorted()
	switch n := len(v); {
	case n == 0:
		return 0
	case n%2 == 1:
		return v[n/2]
	default:
		return (v[n/2-1] + v[n/2]) / 2
	}
}

func (s series) min() float64 { return slices.Min(s) }
func (s series) max() float64 { return slices.Max(s) }

// minus is the run-by-run difference s[i]-o[i]: the rounds interleave the
// boots, so each pair saw the machine in the same state.
func (s series) minus(o series) series {
	out := make(series, min(len(s), len(o)))
	for i := range out {
		out[i] = s[i] - o[i]
	}
	return out
}

// ms formats a series of milliseconds as "median (min–max) ms".
func (s series) ms() string {
	if len(s) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s ms (%s–%s)", num(s.median()), num(s.min()), num(s.max()))
}

// mb formats a series of KiB as "median (min–max) MB", MB being 10⁶ bytes.
func (s series) mb() string {
	if len(s) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f MB (%.2f–%.2f)", kibToMB(s.median()), kibToMB(s.min()), kibToMB(s.max()))
}

func kibToMB(kib float64) float64 { return kib * 1024 / 1e6 }

func toMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// num prints a duration in ms with about three significant digits.
func num(v float64) string {
	switch a := max(v, -v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
