package config

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Excluded are flags that a configuration file cannot set.
var Excluded = map[string]bool{"config": true, "help": true, "version": true}

// Load reads the file at path and checks every key and value against
// the flags of fs. It returns the settings by key. Errors have the form
// "FILE:LINE: reason".
func Load(path string, fs *pflag.FlagSet) (map[string]string, error) {
	settings, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := Check(path, settings, fs); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(settings))
	for _, s := range settings {
		out[s.Key] = s.Value
	}
	return out, nil
}

// Check returns an error for the first setting whose key is not a flag of
// fs or whose value does not parse as the flag's type. Values of types it
// does not know, such as plain strings, are left to the flag.
func Check(name string, settings []Setting, fs *pflag.FlagSet) error {
	for _, s := range settings {
		f := fs.Lookup(s.Key)
		if f == nil || Excluded[s.Key] {
			return &Error{File: name, Line: s.Line, Reason: fmt.Sprintf("unknown key %s: want a long flag name of the command, see --help", s.Key)}
		}
		if err := checkValue(f.Value.Type(), s.Value); err != nil {
			return &Error{File: name, Line: s.Line, Reason: fmt.Sprintf("invalid value %q for %s: %v", s.Value, s.Key, err)}
		}
	}
	return nil
}

func checkValue(typ, v string) error {
	var err error
	switch typ {
	case "bool":
		_, err = strconv.ParseBool(v)
	case "duration":
		_, err = time.ParseDuration(v)
	case "int", "int64":
		_, err = strconv.ParseInt(v, 0, 64)
	case "int32", "int16", "int8":
		bits, _ := strconv.Atoi(strings.TrimPrefix(typ, "int"))
		_, err = strconv.ParseInt(v, 0, bits)
	case "uint", "uint64":
		_, err = strconv.ParseUint(v, 0, 64)
	case "uint32", "uint16", "uint8":
		bits, _ := strconv.Atoi(strings.TrimPrefix(typ, "uint"))
		_, err = strconv.ParseUint(v, 0, bits)
	case "float64", "float32":
		_, err = strconv.ParseFloat(v, 64)
	case "stringSlice", "stringArray":
		_, err = splitList(v)
	}
	if err != nil {
		return unwrapNum(err)
	}
	return nil
}

// unwrapNum drops strconv's repetition of the input from err.
func unwrapNum(err error) error {
	if ne, ok := err.(*strconv.NumError); ok {
		return ne.Err
	}
	return err
}

// Apply sets the flags of fs that the command line did not set from the
// file at path. A flag given on the command line keeps its value.
func Apply(path string, fs *pflag.FlagSet) error {
	settings, err := ReadFile(path)
	if err != nil {
		return err
	}
	if err := Check(path, settings, fs); err != nil {
		return err
	}
	for _, s := range settings {
		f := fs.Lookup(s.Key)
		if f.Changed {
			continue
		}
		if err := setFlag(fs, f, s.Value); err != nil {
			return &Error{File: path, Line: s.Line, Reason: fmt.Sprintf("invalid value %q for %s: %v", s.Value, s.Key, err)}
		}
	}
	return nil
}

// setFlag sets f to v. A list replaces the flag's default as a whole,
// and an empty value means an empty list, because Set on a string array
// would append one empty item instead.
func setFlag(fs *pflag.FlagSet, f *pflag.Flag, v string) error {
	sv, ok := f.Value.(pflag.SliceValue)
	if !ok {
		return fs.Set(f.Name, v)
	}
	items, err := splitList(v)
	if err != nil {
		return err
	}
	if err := sv.Replace(items); err != nil {
		return err
	}
	f.Changed = true
	return nil
}

// splitList parses a comma-separated list; items holding a comma or a
// quote are quoted as in CSV.
func splitList(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return []string{}, nil
	}
	r := csv.NewReader(strings.NewReader(v))
	r.TrimLeadingSpace = true
	return r.Read()
}

// joinList is the inverse of splitList.
func joinList(items []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(items)
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// Write writes every flag of fs that a file can set as a setting with its
// current value, each after its usage text as a comment. Reading the
// output back with Load gives the same values.
func Write(w io.Writer, fs *pflag.FlagSet) error {
	var b strings.Builder
	fs.VisitAll(func(f *pflag.Flag) {
		if Excluded[f.Name] || f.Hidden {
			return
		}
		fmt.Fprintf(&b, "# %s\n%s = %s\n\n", f.Usage, f.Name, Quote(flagValue(f)))
	})
	_, err := io.WriteString(w, b.String())
	return err
}

// flagValue returns the value of f as the command line writes it. pflag
// prints a string slice as "[a,b]", which Set would not read back.
func flagValue(f *pflag.Flag) string {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return joinList(sv.GetSlice())
	}
	return f.Value.String()
}
