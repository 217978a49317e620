package replayer

import (
	"database/sql"
	"fmt"
	"sync"
	"time"

	"paydrill/sim/store"
	"paydrill/sim/wire"
)

const schema = `CREATE TABLE IF NOT EXISTS attempts (
	seq        INTEGER PRIMARY KEY,
	request_id TEXT NOT NULL,
	attempt    INTEGER NOT NULL,
	outcome    TEXT NOT NULL,
	status     INTEGER NOT NULL,
	error      TEXT NOT NULL,
	at         INTEGER NOT NULL -- unix nanoseconds, UTC
)`

const index = `CREATE INDEX IF NOT EXISTS attempts_request ON attempts (request_id)`

// final reports whether an outcome ends an order's replay: anything but
// an error is never sent again.
func final(outcome string) bool {
	return outcome == wire.ReplayCharged || outcome == wire.ReplayDuplicate || outcome == wire.ReplayRejected
}

// ledger is the durable record of every replay attempt, with an in-memory
// index of what it holds.
type ledger struct {
	db       *sql.DB
	mu       sync.Mutex
	attempts map[string]int  // attempts so far, by request id
	done     map[string]bool // request ids with a final outcome
}

// openLedger opens (or creates) the attempts file at path and loads it.
func openLedger(path string) (*ledger, error) {
	db, err := store.Open(path, true, schema, index)
	if err != nil {
		return nil, err
	}
	l := &ledger{db: db, attempts: map[string]int{}, done: map[string]bool{}}
	rows, err := db.Query(`SELECT request_id, attempt, outcome FROM attempts`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, outcome string
		var attempt int
		if err := rows.Scan(&id, &attempt, &outcome); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		l.attempts[id] = max(l.attempts[id], attempt)
		if final(outcome) {
			l.done[id] = true
		}
	}
	if err := rows.Err(); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// isDone reports whether the order id was replayed with a final outcome.
func (l *ledger) isDone(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done[id]
}

// doneCount is how many orders were replayed with a final outcome.
func (l *ledger) doneCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.done)
}

// add numbers rec as the order's next attempt and saves it durably.
func (l *ledger) add(rec wire.ReplayRecord) (wire.ReplayRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rec.Attempt = l.attempts[rec.RequestID] + 1
	_, err := l.db.Exec(`INSERT INTO attempts (request_id, attempt, outcome, status, error, at) VALUES (?, ?, ?, ?, ?, ?)`,
		rec.RequestID, rec.Attempt, rec.Outcome, rec.Status, rec.Error, rec.At.UnixNano())
	if err != nil {
		return rec, fmt.Errorf("saving replay of %s: %w", rec.RequestID, err)
	}
	l.attempts[rec.RequestID] = rec.Attempt
	if final(rec.Outcome) {
		l.done[rec.RequestID] = true
	}
	return rec, nil
}

// all returns every attempt, oldest first. It reads them all before
// returning so a slow reader never holds the only connection.
func (l *ledger) all() ([]wire.ReplayRecord, error) {
	rows, err := l.db.Query(`SELECT request_id, attempt, outcome, status, error, at FROM attempts ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []wire.ReplayRecord
	for rows.Next() {
		var rec wire.ReplayRecord
		var at int64
		if err := rows.Scan(&rec.RequestID, &rec.Attempt, &rec.Outcome, &rec.Status, &rec.Error, &at); err != nil {
			return nil, err
		}
		rec.At = time.Unix(0, at).UTC()
		out = append(out, rec)
	}
	return out, rows.Err()
}

func (l *ledger) close() error { return l.db.Close() }
