// Package checker is the pure checker: it joins what the client saw of
// every order (harness/load's orders and outcomes) with what every store
// holds at the end (the gateway's ledger, the order store, capture, the
// replayer's and reconciler's records, the dynos' records) and with the
// faults as they were applied (harness/fault), and gives the result
// (harness/result): anomalies order by order, money at risk, RTO and RPO,
// latency and queue times in model time. Judge judges expectations, over
// the whole run or a window of it; Trust fails a run whose figures cannot
// be trusted unless allowed. A run's directory keeps its evidence
// (SaveEvidence), and LoadRun reads it back so that `paydrill check` can
// check an old run with today's checker. Nothing here runs a system.
package checker
