package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"paydrill/sim/dist"
)

// Parse reads a scenario from data (the contents of filename, which only
// names the file in errors and anchors relative sample files) on top of
// Default. It checks the form of every value: unknown keys, wrong types,
// malformed durations, rates, money and toxic attributes are errors, all
// reported at once as an ErrorList whose entries name file, line, column and
// key path. It does not check that the values make sense together: call
// Validate for that (or use Check, which does both).
func Parse(filename string, data []byte) (*Scenario, error) {
	s, errs := parse(filename, data)
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

// Load reads and parses the scenario file at path (see Parse).
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, ErrorList{{File: path, Msg: readError(err)}}
	}
	return Parse(path, data)
}

// Check parses data and validates the result, returning every problem of
// both steps in file order: what `paydrill validate` shows. A value that did
// not parse is reported once (Validate's view of the default it kept is
// left out). The scenario is
// nil only when the file is not a YAML mapping at all; otherwise it is
// returned even with errors (the values in error keep their defaults).
func Check(filename string, data []byte) (*Scenario, ErrorList) {
	s, errs := parse(filename, data)
	if s != nil {
		failed := map[string]bool{}
		for _, e := range errs {
			failed[e.Key] = true
		}
		for _, e := range s.Validate() {
			if ve := e.(*Error); !covered(ve.Key, failed) {
				errs = append(errs, ve)
			}
		}
	}
	errs.Sort()
	return s, errs
}

// covered reports whether key or a key enclosing it is in failed: a value
// that did not parse keeps its default, which Validate need not judge.
// A distribution with any error inside is not judged as a whole either
// (a misspelt parameter would otherwise also be "required").
func covered(key string, failed map[string]bool) bool {
	for k := key; k != ""; k = parentKey(k) {
		if failed[k] {
			return true
		}
	}
	for _, d := range distPaths {
		if strings.HasPrefix(key, d+".") {
			for f := range failed {
				if strings.HasPrefix(f, d+".") {
					return true
				}
			}
		}
	}
	return false
}

// distPaths are the key paths of the scenario's distributions.
var distPaths = []string{"system.dynos.service_time", "system.gateway.latency", "load.amount"}

// CheckFile reads the file at path and Checks it.
func CheckFile(path string) (*Scenario, ErrorList) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, ErrorList{{File: path, Msg: readError(err)}}
	}
	return Check(path, data)
}

func readError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return "cannot read: " + pe.Err.Error()
	}
	return "cannot read: " + err.Error()
}

func parse(filename string, data []byte) (*Scenario, ErrorList) {
	root, perr := parseYAML(filename, data)
	if perr != nil {
		return nil, ErrorList{perr}
	}
	s := Default()
	s.File = filename
	s.dir = filepath.Dir(filename)
	s.pos = map[string]Pos{}
	d := &decoder{file: filename, pos: s.pos}
	d.mapping(root, reflect.ValueOf(&s).Elem(), "", nil)
	if _, ok := s.pos["name"]; !ok {
		s.Name = nameFromFile(filename)
	}
	s.loadSamples(d)
	return &s, d.errs
}

func nameFromFile(filename string) string {
	base := filepath.Base(filename)
	base = strings.TrimSuffix(base, filepath.Ext(base))
	if base == "" || base == "." || base == string(filepath.Separator) {
		return "default"
	}
	return base
}

// parseYAML returns the root mapping of the single document in data.
func parseYAML(filename string, data []byte) (root *yaml.Node, perr *Error) {
	defer func() {
		if r := recover(); r != nil { // yaml.v3 has panicked on hostile input before
			root, perr = nil, &Error{File: filename, Line: 1, Msg: fmt.Sprintf("not valid YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &Error{File: filename, Msg: "empty file: a scenario needs at least a duration and a load"}
		}
		return nil, syntaxError(filename, data, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		if err != nil {
			return nil, syntaxError(filename, data, err)
		}
		line := next.Line
		if len(next.Content) > 0 {
			line = next.Content[0].Line
		}
		return nil, &Error{File: filename, Line: line, Msg: "a second YAML document: a scenario file holds exactly one (remove the ---)"}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: filename, Msg: "empty file: a scenario needs at least a duration and a load"}
	}
	root = resolve(doc.Content[0])
	if isNull(root) {
		return nil, &Error{File: filename, Line: root.Line, Col: root.Column, Msg: "empty scenario: a scenario needs at least a duration and a load"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: filename, Line: root.Line, Col: root.Column,
			Msg: "not a scenario: want a mapping of keys (name:, duration:, load:, ...), got " + describe(root)}
	}
	return root, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 error into an Error. yaml.v3 often names the
// line before the problem (the context it was parsing), so the line is the
// first at which a prefix of data fails with the same message, or yaml's
// own when none does.
func syntaxError(filename string, data []byte, err error) *Error {
	msg, line := strings.TrimPrefix(err.Error(), "yaml: "), 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if l := firstBadLine(data, msg); l > 0 {
		line = l
	}
	if line == 0 {
		line = 1
	}
	msg = "not valid YAML: " + msg
	lines := strings.Split(string(data), "\n")
	if line <= len(lines) && strings.Contains(lines[line-1], "[") && strings.Contains(lines[line-1], "{") {
		msg += ` (inside {...}, brackets are YAML syntax: quote names like "router->dyno[2]")`
	}
	return &Error{File: filename, Line: line, Msg: msg}
}

// firstBadLine returns the first line at which the data up to that line
// fails to parse with msg, or 0.
func firstBadLine(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 2000 {
		return 0
	}
	for k := 1; k <= len(lines); k++ {
		if yamlErr(bytes.Join(lines[:k], nil)) == msg {
			return k
		}
	}
	return 0
}

// yamlErr returns the message (without "yaml: line N: ") of the first
// error parsing data, or "".
func yamlErr(data []byte) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if err == io.EOF {
				return ""
			}
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				return m[2]
			}
			return strings.TrimPrefix(err.Error(), "yaml: ")
		}
	}
}

// decoder decodes yaml.Node trees into the scenario's Go types, recording
// where every value was written and collecting every error.
type decoder struct {
	file  string
	noPos bool // values from --set: no line and column
	pos   map[string]Pos
	errs  ErrorList
}

func (d *decoder) at(n *yaml.Node) Pos {
	if d.noPos || n == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) fail(n *yaml.Node, key, format string, args ...any) {
	d.errs = append(d.errs, newError(d.at(n), key, format, args...))
}

func (d *decoder) failAt(p Pos, key, format string, args ...any) {
	d.errs = append(d.errs, newError(p, key, format, args...))
}

var (
	durationType  = reflect.TypeOf(time.Duration(0))
	timeDistType  = reflect.TypeOf(TimeDist{})
	moneyDistType = reflect.TypeOf(MoneyDist{})
	faultType     = reflect.TypeOf(Fault{})
	expectType    = reflect.TypeOf(Expectation{})
)

// value decodes n into v, the value at key path path, described by f.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, f field) {
	n = resolve(n)
	d.pos[path] = d.at(n)
	switch v.Type() {
	case durationType:
		if s, ok := d.scalar(n, path, "a duration like 15s"); ok {
			x, err := ParseDuration(s)
			if err != nil {
				d.fail(n, path, "%v", err)
				return
			}
			v.SetInt(int64(x))
		}
		return
	case timeDistType, moneyDistType:
		d.distribution(n, v, path)
		return
	case faultType:
		d.fault(n, v, path)
		return
	case expectType:
		d.expectation(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if !isNull(n) {
			d.mapping(n, v, path, nil)
		}
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int, reflect.Int64:
		if f.unit == "money" {
			if s, ok := d.scalar(n, path, `an amount of dollars like "35.00"`); ok {
				c, err := ParseMoney(s)
				if err != nil {
					d.fail(n, path, "%v", err)
					return
				}
				v.SetInt(c)
			}
			return
		}
		var x int64
		if !d.typed(n, path, "an integer", &x, "!!int") {
			return
		}
		if v.OverflowInt(x) {
			d.fail(n, path, "%d is too large", x)
			return
		}
		v.SetInt(x)
	case reflect.Float64:
		if f.unit == "speed" {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value == "auto" {
				v.SetFloat(SpeedAuto)
				return
			}
			var x float64
			if d.typed(n, path, "a number or auto", &x, "!!int", "!!float") {
				if !(x > 0) || math.IsInf(x, 0) {
					d.fail(n, path, "must be greater than 0, or auto, got %g", x)
					return
				}
				v.SetFloat(x)
			}
			return
		}
		if f.unit == "rate" {
			if s, ok := d.scalar(n, path, "a rate like 5/s or 300/m"); ok {
				r, err := ParseRate(s)
				if err != nil {
					d.fail(n, path, "%v", err)
					return
				}
				v.SetFloat(r)
			}
			return
		}
		var x float64
		if d.typed(n, path, "a number", &x, "!!int", "!!float") {
			v.SetFloat(x)
		}
	case reflect.Bool:
		var b bool
		if d.typed(n, path, "true or false", &b, "!!bool") {
			v.SetBool(b)
		}
	default:
		panic("scenarios: no decoder for " + v.Type().String())
	}
}

// scalar returns n's text when n is a scalar with a value.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	if isNull(n) {
		d.fail(n, path, "missing value: want %s", want)
		return "", false
	}
	return n.Value, true
}

// typed decodes the scalar n into out when its YAML type is one of tags.
func (d *decoder) typed(n *yaml.Node, path, want string, out any, tags ...string) bool {
	if _, ok := d.scalar(n, path, want); !ok {
		return false
	}
	tag := n.ShortTag()
	for _, t := range tags {
		if tag == t {
			if err := n.Decode(out); err != nil {
				d.fail(n, path, "want %s, got %s", want, describe(n))
				return false
			}
			return true
		}
	}
	d.fail(n, path, "want %s, got %s", want, describe(n))
	return false
}

// mapping decodes the mapping n into the struct v. The values of the keys
// in skip are returned instead of decoded.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, skip map[string]bool) map[string]*yaml.Node {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of keys, got %s", describe(n))
		return nil
	}
	fs := fieldsOf(v.Type())
	var raw map[string]*yaml.Node
	for _, kv := range d.pairs(n, path) {
		k, val := kv[0], kv[1]
		kpath := join(path, k.Value)
		if skip[k.Value] {
			if raw == nil {
				raw = map[string]*yaml.Node{}
			}
			raw[k.Value] = val
			continue
		}
		f, ok := fs.byName[k.Value]
		if !ok {
			d.fail(k, kpath, "unknown key%s", suggest(k.Value, fs.names))
			continue
		}
		d.value(val, v.Field(f.index), kpath, f)
	}
	return raw
}

// pairs returns the key/value pairs of the mapping n, with merge keys (<<)
// expanded (explicit keys win) and duplicate keys reported.
func (d *decoder) pairs(n *yaml.Node, path string) [][2]*yaml.Node {
	var out, merged [][2]*yaml.Node
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.fail(k, path, "want a key name, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergePairs(val, path)...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, join(path, k.Value), "duplicate key (first at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, [2]*yaml.Node{k, val})
	}
	for _, kv := range merged {
		if _, ok := seen[kv[0].Value]; !ok {
			seen[kv[0].Value] = kv[0]
			out = append(out, kv)
		}
	}
	return out
}

func (d *decoder) mergePairs(n *yaml.Node, path string) [][2]*yaml.Node {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return d.pairs(n, path)
	case yaml.SequenceNode:
		var out [][2]*yaml.Node
		for _, item := range n.Content {
			if item = resolve(item); item.Kind == yaml.MappingNode {
				out = append(out, d.pairs(item, path)...)
				continue
			}
			d.fail(item, path, "merge (<<) wants mappings, got %s", describe(item))
		}
		return out
	}
	d.fail(n, path, "merge (<<) wants a mapping or a list of mappings, got %s", describe(n))
	return nil
}

// sequence decodes the list n into the slice v, replacing it.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list, got %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		e := out.Index(i)
		d.value(item, e, fmt.Sprintf("%s[%d]", path, i), field{})
	}
	v.Set(out)
}

// distribution decodes a TimeDist or MoneyDist: a mapping, which replaces
// the whole distribution, or a bare value, short for {dist: const, value: it}.
func (d *decoder) distribution(n *yaml.Node, v reflect.Value, path string) {
	fs := fieldsOf(v.Type())
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		v.Field(fs.byName["dist"].index).SetString("const")
		f := fs.byName["value"]
		d.value(n, v.Field(f.index), join(path, "value"), f)
		return
	}
	if n.Kind != yaml.MappingNode {
		example := "{dist: lognormal, median: 50ms, p99: 900ms}"
		if v.Type() == moneyDistType {
			example = `{dist: lognormal, median: "35.00", p99: "400.00"}`
		}
		d.fail(n, path, "want a distribution like %s, got %s", example, describe(n))
		return
	}
	v.Set(reflect.Zero(v.Type()))
	d.mapping(n, v, path, nil)
}

// fault decodes one fault; its attributes are read once its toxic is known.
func (d *decoder) fault(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a fault like {at: 1m, for: 2m, link: dyno->gateway, toxic: timeout}, got %s", describe(n))
		return
	}
	v.Set(reflect.ValueOf(newFault()))
	f := v.Addr().Interface().(*Fault)
	f.Pos = d.at(n)
	raw := d.mapping(n, v, path, map[string]bool{"attributes": true})
	if a, ok := raw["attributes"]; ok {
		d.attributes(a, f, join(path, "attributes"))
	}
}

// attributes decodes a toxic's attributes into toxiproxy's units.
func (d *decoder) attributes(n *yaml.Node, f *Fault, path string) {
	n = resolve(n)
	d.pos[path] = d.at(n)
	f.Attributes = nil
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of attributes like {latency: 500ms}, got %s", describe(n))
		return
	}
	kind, known := lookupKind(f.Toxic)
	for _, kv := range d.pairs(n, path) {
		k, val := kv[0], resolve(kv[1])
		name, kpath := k.Value, join(path, k.Value)
		d.pos[kpath] = d.at(val)
		switch {
		case !known:
			continue // the unknown toxic is reported by Validate
		case kind.Container:
			d.fail(k, kpath, "%s is a container fault and takes no attributes", f.Toxic)
			continue
		case kind.Kubernetes:
			d.fail(k, kpath, "%s is a Kubernetes fault and takes no attributes", f.Toxic)
			continue
		case len(kind.Attrs) == 0:
			d.fail(k, kpath, "toxic %s takes no attributes", f.Toxic)
			continue
		}
		a, ok := kind.Attr(name)
		if !ok {
			d.fail(k, kpath, "unknown attribute for toxic %s%s", f.Toxic, suggest(name, attrNames(kind)))
			continue
		}
		x, ok := d.attrValue(val, kpath, a)
		if !ok {
			continue
		}
		if f.Attributes == nil {
			f.Attributes = map[string]int64{}
		}
		f.Attributes[name] = x
	}
}

func (d *decoder) attrValue(n *yaml.Node, path string, a FaultAttr) (int64, bool) {
	switch {
	case a.IsDuration():
		s, ok := d.scalar(n, path, "a duration like 500ms")
		if !ok {
			return 0, false
		}
		dur, err := ParseDuration(s)
		if err != nil {
			d.fail(n, path, "%v", err)
			return 0, false
		}
		unit, name := time.Millisecond, "milliseconds"
		if a.Unit == UnitMicros {
			unit, name = time.Microsecond, "microseconds"
		}
		x, err := wholeUnits(dur, unit)
		if err != nil {
			d.fail(n, path, "%s is not a whole number of %s (toxiproxy's unit)", s, name)
			return 0, false
		}
		return x, true
	default:
		var x int64
		want := "an integer number of bytes"
		if a.Unit == UnitKBps {
			want = "an integer number of kilobytes a second"
		}
		return x, d.typed(n, path, want, &x, "!!int")
	}
}

// expectation decodes one expression; an expression that does not parse is
// kept with its error, which Validate reports.
func (d *decoder) expectation(n *yaml.Node, v reflect.Value, path string) {
	if w, c, ok := windowPair(n); ok {
		v.Set(reflect.ValueOf(windowedAt(w, c, d.at(w), d.at(c), path)))
		return
	}
	if s, ok := d.scalar(n, path, `an expectation like "lost_orders == 0"`); ok {
		v.Set(reflect.ValueOf(expectationAt(s, d.at(n), path, n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0)))
	}
}

// expectationAt parses expr written at p (quoted: inside quotes).
func expectationAt(expr string, p Pos, path string, quoted bool) Expectation {
	e, err := ParseExpectation(expr)
	e.Expr, e.Pos, e.quoted = expr, p, quoted
	if err != nil {
		ep := p
		msg := err.Error()
		var xe *ExprError
		if errors.As(err, &xe) {
			msg = xe.Msg
			if ep.Line > 0 {
				ep.Col += xe.Col - 1
				if quoted {
					ep.Col++
				}
			}
		}
		e.err = newError(ep, path, "%s", msg)
	}
	return e
}

// loadSamples reads the sample files of empirical distributions not read yet.
func (s *Scenario) loadSamples(d *decoder) {
	for _, t := range []struct {
		path string
		d    *TimeDist
	}{{"system.dynos.service_time", &s.System.Dynos.ServiceTime}, {"system.gateway.latency", &s.System.Gateway.Latency}} {
		if t.d.File == "" || t.d.File == t.d.loaded {
			continue
		}
		secs, err := dist.ReadDurationSamples(s.samplePath(t.d.File))
		if err != nil {
			d.failAt(s.Pos(t.path+".file"), t.path+".file", "cannot read samples: %v", err)
			continue
		}
		t.d.Samples = make([]time.Duration, len(secs))
		for i, x := range secs {
			t.d.Samples[i] = time.Duration(x * float64(time.Second))
		}
		t.d.loaded = t.d.File
	}
	if m := &s.Load.Amount; m.File != "" && m.File != m.loaded {
		cents, err := readMoneySamples(s.samplePath(m.File))
		if err != nil {
			d.failAt(s.Pos("load.amount.file"), "load.amount.file", "cannot read samples: %v", err)
			return
		}
		m.Samples, m.loaded = cents, m.File
	}
}

func (s *Scenario) samplePath(file string) string {
	if filepath.IsAbs(file) || s.dir == "" {
		return file
	}
	return filepath.Join(s.dir, file)
}

// readMoneySamples reads one amount of dollars a line ("35.00"); blank lines
// and lines starting with # are skipped.
func readMoneySamples(path string) ([]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []int64
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c, err := ParseMoney(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no samples", path)
	}
	return out, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what n is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// field is one settable field of a scenario struct.
type field struct {
	name      string // the YAML key
	index     int
	unit      string // rate | money | ""
	enum      string
	doc       string
	min       string
	max       string
	exclusive bool
	omitEmpty bool // YAML leaves the field out when zero or empty
	typ       reflect.Type
}

type fieldSet struct {
	list   []field
	byName map[string]field
	names  []string
}

var fieldCache sync.Map // reflect.Type → *fieldSet

// fieldsOf lists the YAML keys of the struct type t, in declaration order.
func fieldsOf(t reflect.Type) *fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{byName: map[string]field{}}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || name == "" || name == "-" {
			continue
		}
		f := field{name: name, index: i, omitEmpty: opts == "omitempty", unit: sf.Tag.Get("unit"), enum: sf.Tag.Get("enum"),
			doc: sf.Tag.Get("doc"), min: sf.Tag.Get("min"), max: sf.Tag.Get("max"), exclusive: sf.Tag.Get("exclusive") == "true", typ: sf.Type}
		fs.list = append(fs.list, f)
		fs.byName[name] = f
		fs.names = append(fs.names, name)
	}
	fieldCache.Store(t, fs)
	return fs
}
