package scenarios

import (
	"embed"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// BuiltinNames returns the names of the built-in scenarios, sorted.
func BuiltinNames() []string {
	entries, _ := fs.ReadDir(builtinFS, "builtin")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Builtin parses the built-in scenario name (errors would name the file
// builtin/NAME.yaml).
func Builtin(name string) (*Scenario, error) {
	file := path.Join("builtin", name+".yaml")
	data, err := builtinFS.ReadFile(file)
	if err != nil || strings.ContainsAny(name, "/\\") {
		return nil, &Error{Msg: "unknown built-in scenario " + quote(name) + suggest(name, BuiltinNames())}
	}
	return Parse(file, data)
}

// Open returns the scenario arg names: the file at that path when there is
// one, else the built-in scenario of that name (what `paydrill run` takes).
// Like Parse, it does not Validate.
func Open(arg string) (*Scenario, error) {
	if _, err := os.Stat(arg); err == nil || strings.ContainsAny(arg, "/\\") || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
		return Load(arg)
	}
	return Builtin(arg)
}

// Summary is one line of `paydrill list`.
type Summary struct {
	Name        string // the built-in's name, as `paydrill run NAME` takes it
	Description string // its one-line description
}

// List returns the built-in scenarios with their descriptions, by name.
func List() []Summary {
	var out []Summary
	for _, n := range BuiltinNames() {
		s, err := Builtin(n)
		if err != nil {
			out = append(out, Summary{Name: n, Description: "(does not parse: " + err.Error() + ")"})
			continue
		}
		out = append(out, Summary{Name: n, Description: s.Description})
	}
	return out
}

func quote(s string) string { return `"` + s + `"` }
