package reports

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"paydrill/harness/result"
)

// JSON writes the result as DESIGN.md's JSON, indented.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteRun writes report.json and report.html into the run's directory.
func WriteRun(dir string, r *result.Result) error {
	f, err := os.Create(filepath.Join(dir, "report.json"))
	if err != nil {
		return err
	}
	if err := JSON(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return WriteHTML(dir, r)
}

// ReadRun reads report.json from a run's directory.
func ReadRun(dir string) (*result.Result, error) {
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		return nil, err
	}
	var r result.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
