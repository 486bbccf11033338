package host

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// hclogFor gives go-plugin (which logs through hclog) a logger that
// forwards to l: go-plugin's own messages and the plugin's log lines, from
// Info up.
func hclogFor(l *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "plugin",
		Level:      hclog.Info,
		Output:     slogWriter{l},
		JSONFormat: true,
	})
}

// slogWriter turns hclog's JSON lines into slog records.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			w.l.Info(string(line))
			continue
		}
		msg, _ := m["@message"].(string)
		lvl, _ := m["@level"].(string)
		var attrs []any
		for k, v := range m {
			if !strings.HasPrefix(k, "@") {
				attrs = append(attrs, k, v)
			}
		}
		if mod, ok := m["@module"].(string); ok {
			attrs = append(attrs, "module", mod)
		}
		w.l.Log(context.Background(), slogLevel(lvl), msg, attrs...)
	}
	return len(p), nil
}

func slogLevel(l string) slog.Level {
	switch strings.ToLower(l) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
