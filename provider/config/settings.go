package config

import (
	"math"
	"time"
)

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
