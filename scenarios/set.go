package scenarios

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// SetFile is the file name errors about values given with Set carry.
const SetFile = "--set"

// Set overrides the value at key, a dotted key path as in the file
// ("system.dynos.count", "load.rate", "speed", "faults[0].for",
// "system.dynos.service_time.p99"), or the same without "system."
// ("dynos.count", "router.strategy"), which is what `paydrill run --set`
// and `paydrill sweep --set` pass. value is read as the YAML value would be,
// by the same decoders: "4", "least-conn", "5/s", "90s", "\"120.00\"", or
// flow YAML for a whole mapping or list ("{dist: const, value: 50ms}",
// "[]" to clear the faults). A mapping replaces a distribution or fault as
// a whole; a list replaces the whole list; sections (system.dynos, …) are
// merged key by key.
//
// Errors name the key (with the file "--set"). Set checks the form of the
// value only; call Validate afterwards for whether it makes sense (a count
// of 0, an unknown strategy). On error s is unchanged. Set never changes
// slices or maps shared with copies of s, so a shallow copy may be Set
// independently.
func (s *Scenario) Set(key, value string) error {
	c := s.Clone()
	if err := c.set(key, value); err != nil {
		return err
	}
	*s = *c
	return nil
}

func (s *Scenario) set(key, value string) error {
	t, err := s.locate(key, true)
	if err != nil {
		return err
	}
	n, perr := valueNode(value)
	if perr != nil {
		return newError(Pos{File: SetFile}, t.path, "not a YAML value: %v", perr)
	}
	pos := make(map[string]Pos, len(s.pos)+4)
	for k, p := range s.pos {
		if k != t.path && !strings.HasPrefix(k, t.path+".") && !strings.HasPrefix(k, t.path+"[") {
			pos[k] = p
		}
	}
	s.pos = pos
	d := &decoder{file: SetFile, noPos: true, pos: s.pos}
	switch {
	case t.fault != nil && t.attr == "":
		d.attributes(n, t.fault, t.path)
	case t.fault != nil:
		one := &Fault{Toxic: t.fault.Toxic}
		parent, had := s.pos[parentKey(t.path)]
		d.attributes(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: t.attr}, n}}, one, parentKey(t.path))
		if x, ok := one.Attributes[t.attr]; ok {
			t.fault.Attributes[t.attr] = x
		}
		if had {
			s.pos[parentKey(t.path)] = parent
		}
	default:
		d.value(n, t.v, t.path, t.f)
	}
	s.loadSamples(d)
	for _, e := range slices.Concat(s.Expect, s.AbortIf) {
		if e.err != nil && e.err.File == SetFile {
			d.errs = append(d.errs, e.err)
		}
	}
	return d.errs.Err()
}

// Get returns the value at key (as Set takes it) written as in a scenario
// file: scalars as their text ("4", "least-conn", "5/s", "90s", "100.00"),
// mappings and lists as flow YAML (JSON), so that s.Set(key, s.Get(key))
// changes nothing.
func (s *Scenario) Get(key string) (string, error) {
	t, err := s.locate(key, false)
	if err != nil {
		return "", err
	}
	var v any
	switch {
	case t.fault != nil && t.attr == "":
		v = attrsPlain(*t.fault)
	case t.fault != nil:
		a, _ := attrOf(t.fault.Toxic, t.attr)
		x, ok := t.fault.Attributes[t.attr]
		if !ok {
			return "", newError(Pos{File: SetFile}, t.path, "not set")
		}
		v = formatAttr(a, x)
	default:
		v = plain(t.v, t.f)
	}
	switch x := v.(type) {
	case string:
		if n, err := valueNode(x); err != nil || n.Kind != yaml.ScalarNode || isNull(n) || n.Value != x {
			b, _ := json.Marshal(x) // "" or text YAML would read otherwise
			return string(b), nil
		}
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// Keys returns the key path of every scalar setting (distributions, faults
// and expectations included, field by field), in file order: what Set and
// Get take.
func (s *Scenario) Keys() []string {
	var out []string
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch {
		case v.Type() == expectType || v.Type() == durationType:
			out = append(out, path)
		case v.Type() == timeDistType || v.Type() == moneyDistType:
			fs := fieldsOf(v.Type())
			kind := v.Field(fs.byName["dist"].index).String()
			out = append(out, join(path, "dist"))
			for _, p := range distParams[kind].all {
				out = append(out, join(path, p))
			}
		case v.Kind() == reflect.Struct:
			for _, f := range fieldsOf(v.Type()).list {
				walk(v.Field(f.index), join(path, f.name))
			}
		case v.Kind() == reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
		case v.Kind() == reflect.Map:
			for _, k := range sortedKeys(v.Interface().(map[string]int64)) {
				out = append(out, path+"."+k)
			}
		default:
			out = append(out, path)
		}
	}
	walk(reflect.ValueOf(s).Elem(), "")
	return out
}

// target is a located key.
type target struct {
	v     reflect.Value
	f     field
	path  string // canonical key path
	fault *Fault // for faults[i].attributes[.NAME]
	attr  string
}

// locate finds the value at key; with cow, slices and maps on the way are
// copied first so they can be changed without touching shallow copies.
func (s *Scenario) locate(key string, cow bool) (target, error) {
	fail := func(path, format string, args ...any) (target, error) {
		return target{}, newError(Pos{File: SetFile}, path, format, args...)
	}
	segs, err := splitKey(key)
	if err != nil {
		return fail(key, "malformed key: %v", err)
	}
	top := fieldsOf(reflect.TypeOf(Scenario{}))
	if _, ok := top.byName[segs[0]]; !ok {
		if _, ok := fieldsOf(reflect.TypeOf(System{})).byName[segs[0]]; !ok {
			cands := append(append([]string(nil), top.names...), fieldsOf(reflect.TypeOf(System{})).names...)
			return fail(key, "unknown key%s", suggest(segs[0], cands))
		}
		segs = append([]string{"system"}, segs...)
	}
	t := target{v: reflect.ValueOf(s).Elem()}
	for i, sg := range segs {
		if strings.HasPrefix(sg, "[") {
			n, _ := strconv.Atoi(sg[1 : len(sg)-1])
			if t.v.Kind() != reflect.Slice || t.v.Type() == reflect.TypeOf([]byte(nil)) {
				return fail(t.path, "not a list: cannot index it with %s", sg)
			}
			if n >= t.v.Len() {
				return fail(t.path+sg, "out of range: %s has %d entries", t.path, t.v.Len())
			}
			if cow {
				c := reflect.MakeSlice(t.v.Type(), t.v.Len(), t.v.Len())
				reflect.Copy(c, t.v)
				t.v.Set(c)
			}
			t.v, t.f, t.path = t.v.Index(n), field{}, t.path+sg
			continue
		}
		if t.v.Type() == faultType && sg == "attributes" {
			t.fault = t.v.Addr().Interface().(*Fault)
			t.path = join(t.path, sg)
			switch rest := segs[i+1:]; len(rest) {
			case 0:
				return t, nil
			case 1:
				if cow {
					t.fault.Attributes = maps.Clone(t.fault.Attributes)
					if t.fault.Attributes == nil {
						t.fault.Attributes = map[string]int64{}
					}
				}
				t.attr, t.path = rest[0], join(t.path, rest[0])
				return t, nil
			}
			return fail(t.path, "attributes hold single values: %s has no key %q", join(t.path, segs[i+1]), segs[i+2])
		}
		if t.v.Kind() != reflect.Struct || t.v.Type() == expectType {
			return fail(join(t.path, sg), "%s is a single value, not a section", t.path)
		}
		fs := fieldsOf(t.v.Type())
		f, ok := fs.byName[sg]
		if !ok {
			return fail(join(t.path, sg), "unknown key%s", suggest(sg, fs.names))
		}
		t.v, t.f, t.path = t.v.Field(f.index), f, join(t.path, sg)
	}
	return t, nil
}

// splitKey splits "faults[0].attributes.latency" into
// ["faults", "[0]", "attributes", "latency"].
func splitKey(key string) ([]string, error) {
	if key == "" {
		return nil, fmt.Errorf("empty key")
	}
	var out []string
	for _, part := range strings.Split(key, ".") {
		name, idx, _ := strings.Cut(part, "[")
		if name == "" && (len(out) == 0 || idx == "") {
			return nil, fmt.Errorf("empty key segment in %q", key)
		}
		if name != "" {
			out = append(out, name)
		}
		if idx == "" && !strings.Contains(part, "[") {
			continue
		}
		for _, ix := range strings.Split("["+idx, "[")[1:] {
			n, err := strconv.Atoi(strings.TrimSuffix(ix, "]"))
			if !strings.HasSuffix(ix, "]") || err != nil || n < 0 {
				return nil, fmt.Errorf("bad index [%s in %q: want [0], [1], …", ix, key)
			}
			out = append(out, "["+strconv.Itoa(n)+"]")
		}
	}
	return out, nil
}

// valueNode reads value as one YAML value; nothing at all is null.
func valueNode(value string) (n *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, fmt.Errorf("%v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}, nil
	}
	return doc.Content[0], nil
}

// Clone returns a deep copy of s.
func (s *Scenario) Clone() *Scenario {
	c := *s
	c.pos = maps.Clone(s.pos)
	c.Load.Stages = append([]Stage(nil), s.Load.Stages...)
	c.Expect = append([]Expectation(nil), s.Expect...)
	c.AbortIf = append([]Expectation(nil), s.AbortIf...)
	c.Faults = append([]Fault(nil), s.Faults...)
	for i := range c.Faults {
		c.Faults[i].Attributes = maps.Clone(s.Faults[i].Attributes)
	}
	c.System.Dynos.ServiceTime.Samples = slices.Clone(s.System.Dynos.ServiceTime.Samples)
	c.System.Gateway.Latency.Samples = slices.Clone(s.System.Gateway.Latency.Samples)
	c.Load.Amount.Samples = slices.Clone(s.Load.Amount.Samples)
	return &c
}
