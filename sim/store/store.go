// Package store opens the SQLite databases the stateful components keep,
// through a pure-Go driver (no cgo), so the binary runs in a scratch image.
package store

import (
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Open opens (creating if needed) the SQLite database at path in WAL mode.
// With durable set every commit is synced to disk before it returns
// (synchronous=FULL); otherwise commits survive a process crash but not
// necessarily a power loss (synchronous=NORMAL). One connection serialises
// every statement, so a component never sees SQLITE_BUSY from itself.
// The schema statements run once, in order.
func Open(path string, durable bool, schema ...string) (*sql.DB, error) {
	sync := "NORMAL"
	if durable {
		sync = "FULL"
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	for _, stmt := range schema {
		if _, err := db.Exec(stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: schema: %w", path, err)
		}
	}
	return db, nil
}
