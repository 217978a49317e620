package scenarios

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Pos is a place in a scenario file: the file name and the 1-based line and
// column of a YAML node. A zero Line means the place is not in a file: a
// default value, or a value given with --set (File is then "--set").
type Pos struct {
	File string // the scenario file ("--set" for values from Set)
	Line int    // 1-based; 0 when not in a file
	Col  int    // 1-based; 0 when unknown
}

// String renders p as file:line:col, leaving out the parts it lacks.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
		if p.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Col))
		}
	}
	return b.String()
}

// Error is one problem with a scenario: where it is (File, Line, Col; Line
// is 0 when the value did not come from a file), the key path of the value
// ("system.dynos.workers", "faults[0].link"; empty for the whole file) and
// what is wrong. It prints as
//
//	scenarios/x.yaml:7:5: system.dynos.wokers: unknown key (did you mean "workers"?)
type Error struct {
	File string // the scenario file, "--set", or "" when unknown
	Line int    // 1-based line; 0 when the value is not in a file
	Col  int    // 1-based column; 0 when unknown
	Key  string // key path of the value: "system.dynos.count", "faults[0].link"
	Msg  string // what is wrong
}

// Error renders e on one line: file:line:col: key: message.
func (e *Error) Error() string {
	var b strings.Builder
	if p := (Pos{e.File, e.Line, e.Col}).String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Pos returns where e is.
func (e *Error) Pos() Pos { return Pos{e.File, e.Line, e.Col} }

func newError(p Pos, key, format string, args ...any) *Error {
	return &Error{File: p.File, Line: p.Line, Col: p.Col, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// ErrorList is every problem found in a scenario, in file order. It prints
// one error a line, as `paydrill validate` shows them.
type ErrorList []*Error

// Error renders the list one error a line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns l as an error, or nil when l is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Errors returns the list as []error (the shape Validate returns).
func (l ErrorList) Errors() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Sort orders l by file, line and column; errors without a line come after
// those of the same file with one. The order among equals is kept.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		al, bl := a.Line, b.Line
		if al == 0 {
			al = int(^uint(0) >> 1)
		}
		if bl == 0 {
			bl = int(^uint(0) >> 1)
		}
		if al != bl {
			return al < bl
		}
		return a.Col < b.Col
	})
}

// suggest returns ` (did you mean "x"?)` when one of candidates is close to
// name, else ` (one of a, b, c)` when there are few enough candidates to
// list, else "".
func suggest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(name) <= 4 {
		limit = 1
	}
	if best != "" && (bestD <= limit || strings.Contains(best, name) && len(name) >= 3) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(candidates) > 0 && len(candidates) <= 16 {
		return " (one of " + strings.Join(candidates, ", ") + ")"
	}
	return ""
}

// suggestOrList is suggest, but lists every candidate when none is close
// however many there are (a fault's toxic: the table of fault kinds).
func suggestOrList(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return s
	}
	return " (one of " + strings.Join(candidates, ", ") + ")"
}

// editDistance is the Damerau–Levenshtein distance (with adjacent
// transpositions) between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
