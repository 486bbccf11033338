package config

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// PluginSettings returns the settings as the method's Configure receives
// them (sdk.Configurable), in its plugin process and when Validate checks
// a built-in in this one: every setting as a string, a nested mapping or
// list as JSON, and priority when it is set.
func (m MethodConfig) PluginSettings() map[string]string {
	out := make(map[string]string, len(m.Settings)+1)
	for k, v := range m.Settings {
		out[k] = settingString(v)
	}
	if m.Priority != 0 {
		out["priority"] = strconv.Itoa(m.Priority)
	}
	return out
}

func settingString(v any) string {
	switch v.(type) {
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

// yamlValue is the setting a method states as s (Methods.Defaults) as a
// file that wrote it out would decode it: "8" an int, "1h" a string, JSON
// a mapping. It keeps s when the decoded value would not reach the method
// as s again.
func yamlValue(s string) any {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil || v == nil || settingString(v) != s {
		return s
	}
	return v
}

// Int returns the setting key as an int, or def when it is absent or not
// a whole number.
func (m MethodConfig) Int(key string, def int) int {
	if n, ok := settingInt(m.Settings[key]); ok {
		return n
	}
	return def
}

// Duration returns the setting key as a duration, or def when it is absent
// or not a duration string such as "1h" (a bare number is not a duration).
func (m MethodConfig) Duration(key string, def time.Duration) time.Duration {
	if d, ok := settingDuration(m.Settings[key]); ok {
		return d
	}
	return def
}

// String returns the setting key as a string, or def when it is absent or
// not a string.
func (m MethodConfig) String(key, def string) string {
	if s, ok := m.Settings[key].(string); ok {
		return s
	}
	return def
}

func settingInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		if n >= math.MinInt && n <= math.MaxInt {
			return int(n), true
		}
	case uint64:
		if n <= math.MaxInt {
			return int(n), true
		}
	case float64:
		if n == math.Trunc(n) && n >= math.MinInt32 && n <= math.MaxInt32 {
			return int(n), true
		}
	}
	return 0, false
}

func settingDuration(v any) (time.Duration, bool) {
	switch d := v.(type) {
	case time.Duration:
		return d, true
	case string:
		if p, err := time.ParseDuration(d); err == nil {
			return p, true
		}
	}
	return 0, false
}
