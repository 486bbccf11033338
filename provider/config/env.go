package config

import (
	"reflect"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "STEPUP"

// EnvVars maps every environment variable Load reads to the YAML key it
// overrides, e.g. STEPUP_LOCKOUT_MAX_FAILURES -> lockout.max_failures.
// The name is the key's path upper-cased with "_" between sections. Only
// scalar keys have one: clients, acr and methods are set in the file.
func EnvVars() map[string]string {
	out := map[string]string{}
	walkEnv(reflect.TypeFor[Config](), EnvPrefix, "", func(env, key string, _ []int, _ reflect.Type) {
		out[env] = key
	}, nil)
	return out
}

// walkEnv calls fn for every scalar field under t with its variable name,
// YAML path and field index path.
func walkEnv(t reflect.Type, prefix, path string, fn func(env, key string, index []int, t reflect.Type), index []int) {
	fields, _ := yamlFields(t)
	for _, f := range fields {
		env := prefix + "_" + strings.ToUpper(f.name)
		key := joinKey(path, f.name)
		idx := append(append([]int(nil), index...), f.index)
		ft := f.typ
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		switch {
		case ft == durationType || isScalar(ft):
			fn(env, key, idx, ft)
		case ft.Kind() == reflect.Struct:
			walkEnv(ft, env, key, fn, idx)
		}
	}
}

// applyEnv sets every key whose variable lookup finds with a non-empty
// value and returns the keys it set with their variables. A struct behind
// a nil pointer (upstream) is created only when one of its variables is set.
func applyEnv(cfg *Config, lookup func(string) (string, bool)) (map[string]string, error) {
	set := map[string]string{}
	var err error
	root := reflect.ValueOf(cfg).Elem()
	walkEnv(root.Type(), EnvPrefix, "", func(env, key string, index []int, t reflect.Type) {
		if err != nil {
			return
		}
		s, ok := lookup(env)
		if !ok || s == "" {
			return
		}
		v, perr := parseEnv(s, t)
		if perr != nil {
			// Only non-string values fail to parse, so no secret is echoed.
			err = &Error{Key: env, Msg: env + "=" + strconv.Quote(s) + " must be " + expected(t)}
			return
		}
		field := root
		for _, i := range index {
			if field.Kind() == reflect.Pointer {
				if field.IsNil() {
					field.Set(reflect.New(field.Type().Elem()))
				}
				field = field.Elem()
			}
			field = field.Field(i)
		}
		field.Set(v.Convert(field.Type()))
		set[key] = env
	}, nil)
	return set, err
}

func parseEnv(s string, t reflect.Type) (reflect.Value, error) {
	if t == durationType {
		d, err := time.ParseDuration(s)
		return reflect.ValueOf(d), err
	}
	switch t.Kind() {
	case reflect.String:
		return reflect.ValueOf(s), nil
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		return reflect.ValueOf(b), err
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, t.Bits())
		return reflect.ValueOf(n), err
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, t.Bits())
		return reflect.ValueOf(n), err
	}
	return reflect.Value{}, strconv.ErrSyntax
}
