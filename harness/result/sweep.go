package result

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Setting is one key and the value a sweep row gives it.
type Setting struct {
	Key, Value string
}

// Settings are a sweep row's values, one per axis, in axis order. As JSON
// they are an object whose keys keep that order.
type Settings []Setting

// MarshalJSON writes {"key": "value", …} in axis order.
func (s Settings) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.Key)
		v, _ := json.Marshal(kv.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes, keeping the order.
func (s *Settings) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("settings: want a JSON object")
	}
	*s = nil
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*s = append(*s, Setting{Key: k.(string), Value: v})
	}
	_, err := dec.Token()
	return err
}

// String is "key=value key=value".
func (s Settings) String() string {
	parts := make([]string, len(s))
	for i, kv := range s {
		parts[i] = kv.Key + "=" + kv.Value
	}
	return strings.Join(parts, " ")
}

// SweepRow is one combination of a sweep and the run it gave.
type SweepRow struct {
	Settings Settings `json:"settings"`
	Result   *Result  `json:"result"`
}

// SweepResult is a finished sweep, as `paydrill sweep --json` prints it.
type SweepResult struct {
	Rows []SweepRow `json:"rows"`
	// Find is what --find found, one entry for each combination of the
	// other axes; absent without --find.
	Find []Found `json:"find,omitempty"`
}

// Found is the first value of a sweep's first axis whose run met the
// --find condition, with the other axes' values it was found with.
type Found struct {
	Condition string   `json:"condition"`
	Others    Settings `json:"others"`
	Key       string   `json:"key"`
	// Value is the setting found, "" when no value of the sweep met the
	// condition; Figure is the condition's figure in that run.
	Value  string   `json:"value"`
	Figure *float64 `json:"figure"`
}

// Saturated lists the rows whose run could not keep up with the model.
func (s *SweepResult) Saturated() []SweepRow {
	var out []SweepRow
	for _, r := range s.Rows {
		if r.Result.Harness.Saturated {
			out = append(out, r)
		}
	}
	return out
}

// Failed reports whether any row's expectations did not all hold.
func (s *SweepResult) Failed() bool {
	for _, r := range s.Rows {
		if r.Result.Verdict != "pass" {
			return true
		}
	}
	return false
}
