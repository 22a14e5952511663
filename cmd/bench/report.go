package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Percentile returns the p-th quantile (0..1) of sorted latencies by the
// nearest-rank method: the smallest value with at least p of the values
// at or below it.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(len(sorted))*p - 1e-9)) // 1-based; the epsilon absorbs 1000*0.99 = 990.0000000001
	return sorted[max(0, min(rank-1, len(sorted)-1))]
}

// JSON writes results as an indented JSON array of Result objects.
func JSON(w io.Writer, rs []Result) error {
	if rs == nil {
		rs = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rs)
}

// Text writes results as an aligned table. With more than one target the
// rows are grouped by op, targets side by side in the order they ran, and
// a last column gives each target's ops/s relative to the first one's.
// Each row with errors is followed by its sample of error messages.
func Text(w io.Writer, rs []Result) {
	var targets []string
	for _, r := range rs {
		if !slices.Contains(targets, r.Target) {
			targets = append(targets, r.Target)
		}
	}
	compare := len(targets) > 1
	rows := slices.Clone(rs)
	if compare {
		slices.SortStableFunc(rows, func(a, b Result) int { return opRank(a.Op) - opRank(b.Op) })
	}
	base := map[string]float64{} // op -> the first target's ops/s
	for _, r := range rs {
		if r.Target == targets[0] {
			base[r.Op] = r.OpsPerS
		}
	}
	header := []string{"target", "op", "ops", "errors", "ops/s", "MiB/s", "p50 ms", "p99 ms", "p999 ms", "max ms"}
	if compare {
		header = append(header, "vs "+targets[0])
	}
	table := [][]string{header}
	for i, r := range rows {
		if compare && i > 0 && rows[i-1].Op != r.Op {
			table = append(table, nil) // a blank line between ops
		}
		row := []string{r.Target, r.Op, fmt.Sprint(r.Ops), fmt.Sprint(r.Errors), fmt.Sprintf("%.0f", r.OpsPerS), fmt.Sprintf("%.2f", r.MiBPerS),
			fmt.Sprintf("%.2f", r.P50ms), fmt.Sprintf("%.2f", r.P99ms), fmt.Sprintf("%.2f", r.P999ms), fmt.Sprintf("%.2f", r.MaxMs)}
		if compare {
			if b := base[r.Op]; b > 0 {
				row = append(row, fmt.Sprintf("%.2fx", r.OpsPerS/b))
			} else {
				row = append(row, "-")
			}
		}
		table = append(table, row)
	}
	width := make([]int, len(header))
	for _, row := range table {
		for c, cell := range row {
			width[c] = max(width[c], len(cell))
		}
	}
	for _, row := range table {
		var b strings.Builder
		for c, cell := range row {
			switch {
			case c < 2: // names: left-aligned
				fmt.Fprintf(&b, "%-*s  ", width[c], cell)
			default: // figures: right-aligned
				fmt.Fprintf(&b, "%*s  ", width[c], cell)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	for _, r := range rows {
		for _, e := range r.ErrorSample {
			fmt.Fprintf(w, "%s %s error: %s\n", r.Target, r.Op, e)
		}
	}
}

func opRank(op string) int {
	if i := slices.Index(allOps, op); i >= 0 {
		return i
	}
	return len(allOps)
}
