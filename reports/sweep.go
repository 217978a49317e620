package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"paydrill/harness/result"
	"strconv"
	"strings"
)

// anomalies is the number of orders that went wrong in a run, all kinds.
func anomalies(r *result.Result) int {
	return r.DoubleCharges + r.PhantomCharges + r.LostOrders + r.Unreconciled + r.WrongMatches
}

// anomalyBrief names the kinds that happened: "2 double, 1 lost", or "0".
func anomalyBrief(r *result.Result) string {
	if r.Runtime == result.RuntimeModel {
		return "n/a (model)"
	}
	var parts []string
	for _, k := range []struct {
		n    int
		name string
	}{
		{r.DoubleCharges, "double"}, {r.PhantomCharges, "phantom"}, {r.LostOrders, "lost"},
		{r.Unreconciled, "unreconciled"}, {r.WrongMatches, "wrong match"},
	} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}

// sweepKeys are the settings' keys, from the first row.
func sweepKeys(s *result.SweepResult) []string {
	if len(s.Rows) == 0 {
		return nil
	}
	keys := make([]string, len(s.Rows[0].Settings))
	for i, kv := range s.Rows[0].Settings {
		keys[i] = kv.Key
	}
	return keys
}

// SweepTable writes a sweep as one table, a row per combination: its
// settings, then failovers, queue time, latency and anomalies (model
// time). A run the harness could not keep up with is marked "!".
func SweepTable(w io.Writer, s *result.SweepResult) error {
	header := append(sweepKeys(s), "orders", "failover rate", "queue mean", "queue p99", "latency p99", "anomalies", "verdict")
	t := NewTable(w, header...)
	saturated := 0
	for _, row := range s.Rows {
		r := row.Result
		cells := make([]string, 0, len(header))
		for _, kv := range row.Settings {
			cells = append(cells, kv.Value)
		}
		verdict := r.Verdict
		if r.Harness.Saturated {
			verdict += " !"
			saturated++
		}
		cells = append(cells, strconv.Itoa(r.Orders.Sent), pct(r.FailoverRate), ms(r.QueueMS.Mean), ms(r.QueueMS.P99),
			ms(r.LatencyMS.P99), anomalyBrief(r), verdict)
		t.Append(cells)
	}
	if err := t.Render(); err != nil {
		return err
	}
	if saturated > 0 {
		fmt.Fprintf(w, "\n! %d of %d runs could not keep up with the model (harness.saturated): their figures are not to be trusted; lower the speed\n",
			saturated, len(s.Rows))
	}
	return nil
}

// SweepCSV writes a sweep as CSV, a header then a row per combination:
// the settings, then model-time figures in plain numbers (rates as
// fractions, times in milliseconds).
func SweepCSV(w io.Writer, s *result.SweepResult) error {
	cw := csv.NewWriter(w)
	header := append(sweepKeys(s), "orders_sent", "failover_rate", "queue_ms_mean", "queue_ms_p99", "latency_ms_p99",
		"anomalies", "double_charges", "phantom_charges", "lost_orders", "unreconciled", "wrong_matches",
		"saturated", "verdict")
	if err := cw.Write(header); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, row := range s.Rows {
		r := row.Result
		var rec []string
		for _, kv := range row.Settings {
			rec = append(rec, kv.Value)
		}
		money := []string{strconv.Itoa(anomalies(r)), strconv.Itoa(r.DoubleCharges), strconv.Itoa(r.PhantomCharges),
			strconv.Itoa(r.LostOrders), strconv.Itoa(r.Unreconciled), strconv.Itoa(r.WrongMatches)}
		if r.Runtime == result.RuntimeModel {
			money = make([]string, len(money)) // not computed: empty cells
		}
		rec = append(rec, strconv.Itoa(r.Orders.Sent), f(r.FailoverRate), f(r.QueueMS.Mean), f(r.QueueMS.P99), f(r.LatencyMS.P99))
		rec = append(rec, money...)
		rec = append(rec, strconv.FormatBool(r.Harness.Saturated), r.Verdict)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Found writes what sweep --find found: a line per combination of the
// other axes.
func Found(w io.Writer, found []result.Found) error {
	for _, f := range found {
		with := ""
		if len(f.Others) > 0 {
			with = " with " + f.Others.String()
		}
		if f.Value == "" {
			if _, err := fmt.Fprintf(w, "\nfind %s%s: no value of %s in the sweep meets it\n", f.Condition, with, f.Key); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintf(w, "\nfind %s%s: %s=%s (%.4g)\n", f.Condition, with, f.Key, f.Value, *f.Figure); err != nil {
			return err
		}
	}
	return nil
}
