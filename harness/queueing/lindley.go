package queueing

import "time"

// Lindley is Lindley's recursion over c FIFO workers: the wait of each of
// n jobs, taken in order of arrival, had job i arrived at arrived(i) and
// held the first free worker for busy(i). It is the queue a run's records
// describe exactly, free of chance, to set the measured mean against.
func Lindley(n, c int, arrived func(i int) time.Time, busy func(i int) time.Duration) []time.Duration {
	free := make([]time.Time, max(c, 1))
	out := make([]time.Duration, n)
	for i := range n {
		k := 0
		for j := range free {
			if free[j].Before(free[k]) {
				k = j
			}
		}
		start := arrived(i)
		if free[k].After(start) {
			start = free[k]
		}
		out[i] = start.Sub(arrived(i))
		free[k] = start.Add(busy(i))
	}
	return out
}
