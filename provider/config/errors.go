package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is one configuration problem. Its message names the key (or the
// environment variable) and says what to do; stepup prints it as it is.
type Error struct {
	File string // the config file, when the problem is in it
	Line int    // 1-based line in File, 0 when unknown
	Key  string // YAML path such as "storage.driver" or "clients[0].id", or an environment variable
	Msg  string // the whole sentence, naming Key
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("config: %s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return fmt.Sprintf("config: %s: %s", e.File, e.Msg)
	}
	return "config: " + e.Msg
}

func errorf(key, format string, args ...any) *Error {
	for i, verb := range verbs(format) {
		if i >= len(args) {
			break
		}
		if v, ok := args[i].(string); ok && verb == 'q' {
			args[i] = shorten(v) // a value quoted: at most a short prefix of it
		}
	}
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// verbs are the verbs of format, one per argument, in order.
func verbs(format string) []byte {
	var out []byte
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("+-# 0123456789.", format[j]) >= 0 {
			j++
		}
		if j < len(format) && format[j] != '%' {
			out = append(out, format[j])
		}
		i = j
	}
	return out
}

// maxQuoted is how much of a value an error quotes (SPEC §3: at most a
// short prefix of a bad value).
const maxQuoted = 64

// shorten cuts v to maxQuoted bytes, on a rune boundary, marking the cut.
func shorten(v string) string {
	if len(v) <= maxQuoted {
		return v
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n] + "…"
}

var durationType = reflect.TypeFor[time.Duration]()

// expected says in words what a value of type t looks like.
func expected(t reflect.Type) string {
	if t == durationType {
		return `a duration such as "15m", "24h" or "1h30m"`
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number from 0 to " + strconv.FormatUint(1<<t.Bits()-1, 10)
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping of keys to values"
	}
	return t.String()
}

func isScalar(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}
