package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// configFlag is the serve option that names a configuration file.
const configFlag = "config"

// applyConfigFile sets, from the YAML file named by --config, every serve
// option that was not given on the command line: flags win. The file is a
// mapping whose keys are the option names without dashes (audit-log: ...,
// ownership: true); a key that is not an option, a value that the option
// refuses, a nested mapping or a duplicate key is an error naming the file
// and the key, so a misspelt setting never silently falls back to a
// default. --config itself cannot be set from the file.
func applyConfigFile(fs *flag.FlagSet) error {
	path := fs.Lookup(configFlag).Value.String()
	if path == "" {
		return nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file sets nothing
		}
		return fmt.Errorf("%s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: want a mapping of serve options (socket: ..., audit-log: ...)", path, m.Line)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key := strings.TrimLeft(k.Value, "-")
		if seen[key] {
			return fmt.Errorf("%s:%d: %s is set twice", path, k.Line, key)
		}
		seen[key] = true
		f := fs.Lookup(key)
		if f == nil || key == configFlag {
			return fmt.Errorf("%s:%d: %q is not a serve option (see docker-authz help serve; the keys are the option names: %s)", path, k.Line, k.Value, optionNames(fs))
		}
		val, err := configValue(v)
		if err != nil {
			return fmt.Errorf("%s:%d: %s: %v", path, v.Line, key, err)
		}
		if given[key] {
			continue // the command line wins
		}
		if err := fs.Set(key, val); err != nil {
			return fmt.Errorf("%s:%d: %s: %v", path, v.Line, key, err)
		}
	}
	return nil
}

// configValue is the string a YAML value sets: a plain scalar. (No serve
// option may be repeated, so a list is refused rather than letting its last
// element win.)
func configValue(v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", errors.New("want a plain value (a string, number or true/false)")
	}
	if v.Tag == "!!null" {
		return "", errors.New("no value (write \"\" to mean empty)")
	}
	return v.Value, nil
}

func optionNames(fs *flag.FlagSet) string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != configFlag {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	return strings.Join(names, ", ")
}
