package scenarios

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"regexp"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite scenario.schema.json")

// TestJSONSchemaGolden checks the committed scenario.schema.json is what
// JSONSchema generates; go test -run TestJSONSchemaGolden -update rewrites it.
func TestJSONSchemaGolden(t *testing.T) {
	got, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("scenario.schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("scenario.schema.json is stale: run go generate ./scenarios")
	}
}

func TestJSONSchema(t *testing.T) {
	b, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" || s["type"] != "object" || s["additionalProperties"] != false {
		t.Fatalf("root: %v %v %v", s["$schema"], s["type"], s["additionalProperties"])
	}
	props := s["properties"].(map[string]any)
	var keys []string
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"abort_if", "description", "drill", "duration", "expect", "faults", "load", "name", "rto_window", "seed", "settle", "speed", "system"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("top-level keys %v", keys)
	}
	// Every object schema with properties forbids others, and every $ref resolves.
	defs := s["$defs"].(map[string]any)
	var walk func(path string, v any)
	objects := 0
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if _, ok := x["properties"]; ok && x["type"] == "object" {
				objects++
				if x["additionalProperties"] != false {
					t.Errorf("%s: additionalProperties is not false", path)
				}
			}
			if r, ok := x["$ref"].(string); ok {
				if _, ok := defs[r[len("#/$defs/"):]]; !ok {
					t.Errorf("%s: dangling %s", path, r)
				}
			}
			if d, ok := x["description"]; ok && d == "" {
				t.Errorf("%s: empty description", path)
			}
			for k, c := range x {
				walk(path+"/"+k, c)
			}
		case []any:
			for _, c := range x {
				walk(path, c)
			}
		}
	}
	walk("#", s)
	if objects < 15 {
		t.Errorf("only %d object schemas", objects)
	}
	// Every property of a section has a description (from the doc tags).
	for _, sec := range []string{"system", "load", "settle"} {
		var walkProps func(path string, m map[string]any)
		walkProps = func(path string, m map[string]any) {
			for k, v := range m["properties"].(map[string]any) {
				p := v.(map[string]any)
				if p["description"] == nil {
					t.Errorf("%s.%s has no description", path, k)
				}
				if _, ok := p["properties"]; ok {
					walkProps(path+"."+k, p)
				}
			}
		}
		walkProps(sec, props[sec].(map[string]any))
	}
}

// TestSchemaPatterns checks the schema's value patterns agree with the
// parsers on a few samples.
func TestSchemaPatterns(t *testing.T) {
	tests := []struct {
		pattern string
		parse   func(string) error
		samples []string
	}{
		{durationPattern, func(s string) error { _, err := ParseDuration(s); return err },
			[]string{"15s", "150ms", "1h30m", "0", "2.5s", "1m30s", "5", "15 s", "1d"}},
		{ratePattern, func(s string) error { _, err := ParseRate(s); return err },
			[]string{"5/s", "300/m", "0.5/s", ".5/s", "5", "5/h", "1e3/s"}},
		{moneyPattern, func(s string) error { _, err := ParseMoney(s); return err },
			[]string{"35.00", "35", "$35.5", ".99", "35.001", "-1", "1,000"}},
		{exprPattern, func(s string) error { _, err := ParseExpectation(s); return err },
			[]string{"lost_orders == 0", "rto<60s", "latency_ms.p99 < 2s", "lost_orders", "== 0",
				"during fault 1: success_rate > 0.99", "after recovery for 30s: latency_ms.p99 < 500ms", "during fault 1:", ": x > 1"}},
	}
	for _, tt := range tests {
		re := regexp.MustCompile(tt.pattern)
		for _, s := range tt.samples {
			if m, err := re.MatchString(s), tt.parse(s); m != (err == nil) {
				t.Errorf("%q: pattern %v, parser %v", s, m, err)
			}
		}
	}
}
