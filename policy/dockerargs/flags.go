package dockerargs

import (
	"fmt"
	"strings"
)

// flag describes one CLI flag: its long name (the key values are stored
// under), an optional one-letter short name, and whether it takes a value.
type flag struct {
	long, short string
	takesValue  bool
	aliases     []string
}

// flagSet is the parsed command line of one subcommand.
type flagSet struct {
	values map[string][]string // long name -> values in order ("true" for booleans)
	args   []string            // positional arguments, after the first one everything is positional
}

func (f *flagSet) has(name string) bool { return len(f.values[name]) > 0 }

func (f *flagSet) last(name string) string {
	v := f.values[name]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func (f *flagSet) all(name string) []string { return f.values[name] }

// parseFlags parses args the way the docker CLI (pflag, interspersed off
// for run/create/exec) does: flags until the first positional argument,
// then everything is positional. "--" ends the flags. Boolean flags may be
// combined (-it) and given as --flag=true|false.
func parseFlags(cmd string, specs []flag, args []string, interspersed bool) (*flagSet, error) {
	byLong, byShort := map[string]flag{}, map[string]flag{}
	for _, s := range specs {
		byLong[s.long] = s
		for _, a := range s.aliases {
			byLong[a] = s
		}
		if s.short != "" {
			byShort[s.short] = s
		}
	}
	fs := &flagSet{values: map[string][]string{}}
	set := func(s flag, v string) { fs.values[s.long] = append(fs.values[s.long], v) }
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			fs.args = append(fs.args, args[i+1:]...)
			return fs, nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			s, ok := byLong[name]
			if !ok {
				return nil, fmt.Errorf("docker %s: flag --%s is not understood by the translator; write this case as a raw API request", cmd, name)
			}
			if !s.takesValue {
				if hasVal && val != "true" && val != "false" {
					return nil, fmt.Errorf("docker %s: --%s is a boolean flag, not %q", cmd, name, val)
				}
				if !hasVal {
					val = "true"
				}
				if val == "true" {
					set(s, val)
				} else {
					delete(fs.values, s.long)
				}
				continue
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("docker %s: flag --%s needs a value", cmd, name)
				}
				i++
				val = args[i]
			}
			set(s, val)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			// -it, -p8080:80, -p 8080:80, -e=A=b
			rest := a[1:]
			for len(rest) > 0 {
				c := rest[:1]
				rest = rest[1:]
				s, ok := byShort[c]
				if !ok {
					return nil, fmt.Errorf("docker %s: flag -%s is not understood by the translator; write this case as a raw API request", cmd, c)
				}
				if !s.takesValue {
					if strings.HasPrefix(rest, "=") {
						// -p=false
						switch rest[1:] {
						case "true":
							set(s, "true")
						case "false":
							delete(fs.values, s.long)
						default:
							return nil, fmt.Errorf("docker %s: -%s is a boolean flag, not %q", cmd, c, rest[1:])
						}
						rest = ""
						continue
					}
					set(s, "true")
					continue
				}
				val := strings.TrimPrefix(rest, "=")
				if rest == "" {
					if i+1 >= len(args) {
						return nil, fmt.Errorf("docker %s: flag -%s needs a value", cmd, c)
					}
					i++
					val = args[i]
				}
				set(s, val)
				rest = ""
			}
		default:
			if !interspersed {
				fs.args = append(fs.args, args[i:]...)
				return fs, nil
			}
			fs.args = append(fs.args, a)
		}
	}
	return fs, nil
}
