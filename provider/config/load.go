package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/stepup-mfa/stepup/provider/config/yamlbound"
	"gopkg.in/yaml.v3"
)

// Load returns the configuration for path: Default, then the YAML file at
// path decoded over it (skipped when path is ""), then the STEPUP_*
// environment overrides, then derived defaults, and finally Validate.
//
// In the file, a key that Config does not have is an error naming the key
// and its line; so is a value of the wrong type. Sections merge over the
// defaults key by key, with two exceptions: a method's keys merge over
// that method's defaults, and an acr mapping replaces the default levels
// as a whole. Durations are strings such as "15m". Every error is an
// *Error. The built-in methods are those m has (nil: none).
func Load(path string, m Methods) (Config, error) {
	cfg := base(m)
	if path != "" {
		data, err := readBounded(path)
		if err != nil {
			return Config{}, err
		}
		if err := decode(&cfg, path, data, m); err != nil {
			return Config{}, err
		}
	}
	fromEnv, err := applyEnv(&cfg, os.LookupEnv)
	if err != nil {
		return Config{}, err
	}
	cfg.fillDerived()
	if err := cfg.Validate(m); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			if v, ok := fromEnv[ce.Key]; ok {
				ce.Msg += " (set by " + v + ")"
			}
		}
		return Config{}, err
	}
	return cfg, nil
}

// Bounds of a config file (SPEC §3): its size, and the values its aliases
// and merge keys (<<) may expand to.
const (
	MaxFileSize      = yamlbound.MaxFileSize
	MaxExpandedNodes = yamlbound.MaxExpandedNodes
)

// readBounded reads the config file, refusing one over MaxFileSize.
func readBounded(path string) ([]byte, error) {
	data, err := yamlbound.ReadFile(path)
	if errors.Is(err, yamlbound.ErrTooLarge) {
		return nil, &Error{File: path, Msg: fmt.Sprintf("the config file is larger than %d bytes (1 MiB): a stepup config is a few kilobytes", MaxFileSize)}
	}
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read the config file: %v", err)}
	}
	return data, nil
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// decode applies the YAML document data over cfg. yaml.v3 panics on some
// malformed documents (a merge key whose mapping has a mapping for a key):
// that is a file it cannot read, said in one line like any other.
func decode(cfg *Config, file string, data []byte, builtins Methods) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{File: file, Msg: fmt.Sprintf("not valid YAML: the YAML reader cannot take this document (%.80v): check the merge keys (<<) and the keys that are mappings", r)}
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		e := &Error{File: file, Msg: "not valid YAML: " + msg}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = "not valid YAML: " + m[2]
		}
		return e
	}
	if n := yamlbound.Expanded(&doc); n > MaxExpandedNodes {
		return &Error{File: file, Msg: fmt.Sprintf("its aliases and merge keys expand to more than %d values: write the repeated parts out, or nest them less", MaxExpandedNodes)}
	}
	root := &doc
	if root.Kind == 0 {
		return nil // empty file or only comments: defaults
	}
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil // empty file: defaults
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return nil
	}
	if err := checkNode(root, reflect.TypeFor[Config](), ""); err != nil {
		err.File = file
		return err
	}

	acrNode := mappingValue(root, "acr")
	if acrNode != nil && !isNull(acrNode) {
		cfg.ACR = nil // the file's levels replace the default ones
	}

	// checkNode has found unknown keys and bad scalars with their paths;
	// KnownFields stays on as a backstop.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return &Error{File: file, Msg: yamlMessage(err)}
	}

	// yaml.v3 decodes each map value afresh; merge methods over defaults.
	methods := defaultMethods(builtins)
	if n := mappingValue(root, "methods"); n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			name := n.Content[i].Value
			m := methods[name]
			if m.Settings == nil {
				m.Settings = map[string]any{}
			}
			if err := n.Content[i+1].Decode(&m); err != nil {
				return &Error{File: file, Line: n.Content[i+1].Line, Key: "methods." + name, Msg: "methods." + name + ": " + yamlMessage(err)}
			}
			methods[name] = m
			if cfg.named == nil {
				cfg.named = map[string]bool{}
			}
			cfg.named[name] = true
		}
	}
	cfg.Methods = methods

	if acrNode == nil || isNull(acrNode) {
		cfg.ACR = base(nil).ACR
	} else if acrNode.Kind == yaml.MappingNode {
		cfg.levelOrder = nil
		for i := 0; i < len(acrNode.Content); i += 2 {
			cfg.levelOrder = append(cfg.levelOrder, acrNode.Content[i].Value)
		}
	}
	return nil
}

func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// mappingValue returns the value node of key in the mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// yamlField is a struct field as yaml.v3 sees it.
type yamlField struct {
	name  string
	index int
	typ   reflect.Type
}

// yamlFields lists t's fields by their YAML names; inlineMap reports a
// `yaml:",inline"` map field, which takes every other key.
func yamlFields(t reflect.Type) (fields []yamlField, inlineMap bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			if f.Type.Kind() == reflect.Map {
				inlineMap = true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields = append(fields, yamlField{name: name, index: i, typ: f.Type})
	}
	return fields, inlineMap
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkNode walks n against t and reports the first unknown key or value
// of the wrong shape, with its path and line.
func checkNode(n *yaml.Node, t reflect.Type, path string) *Error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isNull(n) {
		return nil
	}
	bad := func() *Error {
		what := strconv.Quote(n.Value)
		if n.Kind != yaml.ScalarNode {
			what = map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}[n.Kind]
		}
		name := path
		if name == "" {
			name = "the file"
		}
		return &Error{Line: n.Line, Key: path, Msg: fmt.Sprintf("%s is %s but must be %s", name, what, expected(t))}
	}
	switch {
	case t == durationType || isScalar(t):
		if n.Kind != yaml.ScalarNode {
			return bad()
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			return bad()
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return bad()
		}
		fields, inlineMap := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				if err := checkMerge(v, t, path); err != nil {
					return err
				}
				continue
			}
			f, ok := findField(fields, k.Value)
			if !ok {
				if inlineMap {
					continue
				}
				return unknownKey(k, path, fields)
			}
			if err := checkNode(v, f.typ, joinKey(path, k.Value)); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return bad()
		}
		for i, e := range n.Content {
			if err := checkNode(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return bad()
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkNode(n.Content[i+1], t.Elem(), joinKey(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkMerge(v *yaml.Node, t reflect.Type, path string) *Error {
	if v.Kind == yaml.SequenceNode {
		for _, e := range v.Content {
			if err := checkNode(e, t, path); err != nil {
				return err
			}
		}
		return nil
	}
	return checkNode(v, t, path)
}

func findField(fields []yamlField, name string) (yamlField, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return yamlField{}, false
}

func unknownKey(k *yaml.Node, path string, fields []yamlField) *Error {
	key := joinKey(path, k.Value)
	msg := fmt.Sprintf("unknown key %q", key)
	best, bestDist := "", 3
	for _, f := range fields {
		if d := editDistance(strings.ToLower(k.Value), f.name); d < bestDist {
			best, bestDist = f.name, d
		}
	}
	if best != "" {
		msg += fmt.Sprintf(": did you mean %q?", joinKey(path, best))
	} else {
		names := make([]string, len(fields))
		for i, f := range fields {
			names[i] = f.name
		}
		where := "here"
		if path != "" {
			where = "in " + path
		}
		msg += fmt.Sprintf(": the keys %s are %s", where, strings.Join(names, ", "))
	}
	return &Error{Line: k.Line, Key: key, Msg: msg}
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
