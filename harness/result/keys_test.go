package result_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"paydrill/harness/result"
	"paydrill/scenarios"
)

// notExpectable are the numbers of the JSON result an expectation cannot
// name, and why: the harness's view of itself and of the machine, which
// say whether the figures can be trusted (harness.saturated names that),
// not what the system did. A key ending in "." covers every key under it.
var notExpectable = map[string]string{
	"harness.timer_lag_ms":     "how late the harness's own timers ran",
	"harness.wall_s":           "wall time, which depends on the machine",
	"regions.startup_wall_s":   "wall time of the runtime's start-up, which depends on the machine and the runtime",
	"harness.queue_distortion": "the machine's share of the queue time, read by harness.saturated",
	"harness.speed_auto.":      "what speed: auto measured of this machine, and the speed it chose (the result's speed)",
	"drill.objectives.":        "the drill's own targets, as the scenario set them: drill.objectives_met says whether they were met",
}

// exempt says why key is not expectable, or "".
func exempt(key string) string {
	for k, why := range notExpectable {
		if key == k || strings.HasSuffix(k, ".") && strings.HasPrefix(key, k) {
			return why
		}
	}
	return ""
}

// TestExpectationKeysAreTheResultsNumbers: the expectation language's keys
// (scenarios.ResultKeys) and the JSON result's numbers are one list, key
// by key: a number added to the result is either named by expectations
// or listed above with why, and every expectation key is in the result.
func TestExpectationKeysAreTheResultsNumbers(t *testing.T) {
	var r result.Result
	fill(reflect.ValueOf(&r).Elem())
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	numbers := map[string]bool{}
	leaves("", m, numbers)
	expectable := scenarios.ResultKeys()
	var missing []string
	for k := range numbers {
		if !slices.Contains(expectable, k) && exempt(k) == "" {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		t.Errorf("result key %s is a number no expectation can name: add it to scenarios' resultKeys, or to notExpectable saying why", k)
	}
	for _, k := range expectable {
		if !numbers[k] {
			t.Errorf("expectation key %s is not a number of the JSON result", k)
		}
	}
	for k := range notExpectable {
		found := numbers[k]
		for n := range numbers {
			found = found || strings.HasSuffix(k, ".") && strings.HasPrefix(n, k)
		}
		if !found {
			t.Errorf("notExpectable names %s, which the result does not have", k)
		}
	}
}

// fill sets every number to 1, every bool to true, every string to "x" and
// every pointer to a filled value, so that every key is in the JSON.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float64, reflect.Float32:
		v.SetFloat(1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		v.SetString("x")
	}
}

// leaves adds the dotted key of every number and bool under m (lists are
// not keys an expectation can name).
func leaves(prefix string, m map[string]any, out map[string]bool) {
	for k, v := range m {
		key := prefix + k
		switch v := v.(type) {
		case map[string]any:
			leaves(key+".", v, out)
		case float64, bool:
			out[key] = true
		}
	}
}
