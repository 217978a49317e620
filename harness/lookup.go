package harness

import (
	"encoding/json"
	"strings"
)

// Lookup returns the number at a result key as written in the JSON result,
// dotted for nested keys ("latency_ms.p99", "orders.sent"); booleans read as
// 0 or 1. present is false for a null (rto_s with no outage) or an unknown
// key.
func (r *Result) Lookup(key string) (value float64, present bool) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, false
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, false
	}
	var cur any = m
	for _, part := range strings.Split(key, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return 0, false
		}
		if cur, ok = obj[part]; !ok {
			return 0, false
		}
	}
	switch v := cur.(type) {
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
