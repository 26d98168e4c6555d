package check

// closest returns the candidate nearest to name by edit distance, as long
// as it is within limit(candidate) edits; a candidate equal to name once
// both are normalized counts as 0 edits. The first of equally near ones
// wins, so candidates are best given in a stable order. "" when none is
// near enough.
func closest(name string, candidates []string, limit func(string) int, normalize func(string) string) string {
	best, bestD := "", -1
	for _, cand := range candidates {
		d := distance(name, cand)
		if normalize(name) == normalize(cand) {
			d = 0
		}
		if d > limit(cand) {
			continue
		}
		if bestD < 0 || d < bestD {
			best, bestD = cand, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes: the
// number of single-byte insertions, deletions and substitutions turning
// one into the other. Names here are ASCII.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, sub)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
