package scenarios

import (
	"strings"
	"testing"
)

func TestLoadArrivals(t *testing.T) {
	s, err := Parse("a.yaml", []byte("name: a\nduration: 1m\nload: {rate: 5/s}\n"))
	if err != nil || s.Load.Arrivals != "constant" {
		t.Fatalf("default arrivals %q, %v; want constant", s.Load.Arrivals, err)
	}
	s, err = Parse("a.yaml", []byte("name: a\nduration: 1m\nload: {rate: 5/s, arrivals: poisson}\n"))
	if err != nil || s.Load.Arrivals != "poisson" || len(s.Validate()) != 0 {
		t.Fatalf("arrivals %q, %v, %v; want poisson and valid", s.Load.Arrivals, err, s.Validate())
	}
	if err := s.Set("load.arrivals", "constant"); err != nil || s.Load.Arrivals != "constant" {
		t.Fatalf("--set load.arrivals=constant: %q, %v", s.Load.Arrivals, err)
	}
	s, err = Parse("a.yaml", []byte("name: a\nduration: 1m\nload:\n  rate: 5/s\n  arrivals: poison\n"))
	if err != nil {
		t.Fatal(err)
	}
	errs := s.Validate()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "a.yaml:5:") || !strings.Contains(errs[0].Error(), "load.arrivals") ||
		!strings.Contains(errs[0].Error(), `"poisson"`) {
		t.Fatalf("arrivals: poison gave %v; want one error at a.yaml:5 naming load.arrivals and suggesting poisson", errs)
	}
}
