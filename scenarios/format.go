package scenarios

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// YAML renders the scenario as a scenario file with every setting spelled
// out (defaults included), in the order of the format: parsing it gives back
// the same scenario. Comments and sample file contents are not kept.
func (s *Scenario) YAML() []byte {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	root := plain(reflect.ValueOf(s).Elem(), field{}).(*omap)
	if !s.HasStandby() {
		// Without a standby region its settings, the gslb's and the
		// drill's do not apply: spelled out, they would not parse back.
		root.del("drill")
		if sys, ok := root.get("system"); ok {
			sys.(*omap).del("gslb")
			sys.(*omap).set("regions", &omap{keys: []string{"standby"}, vals: []any{&omap{keys: []string{"mode"}, vals: []any{"none"}}}})
		}
	}
	if s.HasStandby() && s.System.Regions.Standby.Mode != "cold" {
		// Backups are a cold standby's: a following db refuses the key.
		if sys, ok := root.get("system"); ok {
			if rg, ok := sys.(*omap).get("regions"); ok {
				if sb, ok := rg.(*omap).get("standby"); ok {
					sb.(*omap).del("backup_interval")
				}
			}
		}
	}
	if err := enc.Encode(root); err != nil {
		panic("scenarios: cannot render YAML: " + err.Error()) // plain values always encode
	}
	_ = enc.Close()
	return b.Bytes()
}

// plain returns v as plain data written the way a scenario file writes it
// (durations "15s", rates "5/s", money "100.00"): strings, int64, float64,
// bool, []any and *omap.
func plain(v reflect.Value, f field) any {
	switch v.Type() {
	case durationType:
		return FormatDuration(time.Duration(v.Int()))
	case timeDistType, moneyDistType:
		return distPlain(v)
	case faultType:
		return faultPlain(v.Interface().(Fault))
	case expectType:
		return v.Interface().(Expectation).String()
	case drillStepType:
		return stepPlain(v.Interface().(DrillStep))
	}
	switch v.Kind() {
	case reflect.Struct:
		m := &omap{}
		for _, f := range fieldsOf(v.Type()).list {
			fv := v.Field(f.index)
			if f.omitEmpty && (fv.IsZero() || fv.Kind() == reflect.Slice && fv.Len() == 0) {
				continue
			}
			m.add(f.name, plain(fv, f))
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plain(v.Index(i), field{})
		}
		return out
	case reflect.String:
		return v.String()
	case reflect.Int, reflect.Int64:
		if f.unit == "money" {
			return FormatMoney(v.Int())
		}
		return v.Int()
	case reflect.Float64:
		if f.unit == "rate" {
			return FormatRate(v.Float())
		}
		if f.unit == "speed" && v.Float() == SpeedAuto {
			return "auto"
		}
		return v.Float()
	case reflect.Bool:
		return v.Bool()
	}
	return v.Interface()
}

// distPlain writes a distribution with its kind and parameters: the
// required ones always, the optional ones when not zero.
func distPlain(v reflect.Value) any {
	fs := fieldsOf(v.Type())
	kind := v.Field(fs.byName["dist"].index).String()
	m := &omap{}
	m.add("dist", kind)
	params, known := distParams[kind]
	for _, p := range distParamKeys {
		f := fs.byName[p]
		fv := v.Field(f.index)
		if known && slices.Contains(params.required, p) || !fv.IsZero() {
			m.add(p, plain(fv, f))
		}
	}
	return m
}

var drillStepType = reflect.TypeFor[DrillStep]()

// stepPlain writes a drill step with the one of at, after and when that
// starts it.
func stepPlain(st DrillStep) any {
	m := &omap{}
	m.add("name", st.Name)
	m.add("do", st.Do)
	switch {
	case st.After != "":
		m.add("after", st.After)
	case st.When != "":
		m.add("when", st.When)
	default:
		m.add("at", FormatDuration(st.At))
	}
	if st.Takes != 0 {
		m.add("takes", FormatDuration(st.Takes))
	}
	return m
}

func faultPlain(f Fault) any {
	m := &omap{}
	if f.Name != "" {
		m.add("name", f.Name)
	}
	m.add("at", FormatDuration(f.At))
	if f.For != 0 {
		m.add("for", FormatDuration(f.For))
	}
	if f.Link != "" {
		m.add("link", f.Link)
	}
	if f.Region != "" {
		m.add("region", f.Region)
	}
	if f.Target != "" {
		m.add("target", f.Target)
	}
	if f.Zone != "" {
		m.add("zone", f.Zone)
	}
	if k, _ := lookupKind(f.Toxic); k.Replicas || f.Replicas != 0 {
		m.add("replicas", int64(f.Replicas))
	}
	m.add("toxic", f.Toxic)
	if !f.IsContainer() && !f.IsKubernetes() && f.Toxic != faultDown && f.Stream != "" {
		m.add("stream", f.Stream)
	}
	if len(f.Attributes) > 0 {
		m.add("attributes", attrsPlain(f))
	}
	return m
}

func attrsPlain(f Fault) *omap {
	m := &omap{}
	for _, k := range sortedKeys(f.Attributes) {
		a, ok := attrOf(f.Toxic, k)
		if !ok {
			m.add(k, f.Attributes[k])
			continue
		}
		m.add(k, formatAttr(a, f.Attributes[k]))
	}
	return m
}

// omap is a mapping that keeps its keys in insertion order in JSON and YAML.
type omap struct {
	keys []string
	vals []any
}

func (m *omap) add(k string, v any) {
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

// del removes key k.
func (m *omap) del(k string) {
	if i := slices.Index(m.keys, k); i >= 0 {
		m.keys = slices.Delete(m.keys, i, i+1)
		m.vals = slices.Delete(m.vals, i, i+1)
	}
}

// set replaces the value of key k (which must exist).
func (m *omap) set(k string, v any) {
	if i := slices.Index(m.keys, k); i >= 0 {
		m.vals[i] = v
	}
}

func (m *omap) get(k string) (any, bool) {
	if i := slices.Index(m.keys, k); i >= 0 {
		return m.vals[i], true
	}
	return nil, false
}

// MarshalJSON writes the mapping in insertion order.
func (m *omap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(m.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MarshalYAML writes the mapping in insertion order.
func (m *omap) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i, k := range m.keys {
		var kn, vn yaml.Node
		if err := kn.Encode(k); err != nil {
			return nil, err
		}
		if err := vn.Encode(m.vals[i]); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &kn, &vn)
	}
	return n, nil
}
