package testenv

import (
	"context"
	_ "embed" // axe-core, vendored
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axe-core, vendored (testdata/axe-core/README.md says how to update it).
var (
	//go:embed testdata/axe-core/axe.min.js
	axeSource string
)

const (
	// AxeVersion is the vendored axe-core's version.
	AxeVersion = "4.10.3"
	// AxeSHA256 is the SHA-256 of testdata/axe-core/axe.min.js.
	AxeSHA256 = "880970c081707360e64f34cea25ff91892f5bc95675b0776925b9709dd8a68bb"
)

// AxeViolation is one rule axe-core found broken on a page.
type AxeViolation struct {
	Rule   string   `json:"id"`
	Impact string   `json:"impact"` // minor, moderate, serious, critical
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // each a selector and what fails there
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s\n    %s", v.Rule, v.Impact, v.Help, strings.Join(v.Nodes, "\n    "))
}

// axeRun runs the WCAG 2.0–2.2 A and AA rules and the best practices, and
// answers the violations as JSON.
const axeRun = `axe.run(document, {
  runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
  resultTypes: ["violations"]
}).then(r => JSON.stringify(r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.map(n => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " "))
}))))`

// AxeViolations runs axe-core on the page ctx's browser shows, in the
// colour scheme given ("light" or "dark"), and returns what it finds.
func AxeViolations(ctx context.Context, scheme string) ([]AxeViolation, error) {
	if err := EmulateColorScheme(ctx, scheme); err != nil {
		return nil, fmt.Errorf("emulate prefers-color-scheme %s: %w", scheme, err)
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "object"`))
	if err != nil {
		return nil, err
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+"\n;typeof axe === \"object\"")); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	var vs []AxeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		return nil, fmt.Errorf("axe-core's answer %.200q: %w", raw, err)
	}
	return vs, nil
}

// CheckAccessibility runs axe-core (AxeVersion) on the page ctx's browser
// shows, light and dark, and fails t on every serious or critical
// violation; page names the page in the failure. It leaves the browser in
// the light scheme.
func CheckAccessibility(t testing.TB, ctx context.Context, page string) {
	t.Helper()
	for _, scheme := range []string{"dark", "light"} {
		vs, err := AxeViolations(ctx, scheme)
		if err != nil {
			t.Fatalf("accessibility check of %s (%s): %v", page, scheme, err)
		}
		for _, v := range vs {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("accessibility of %s (%s): %s", page, scheme, v)
			}
		}
	}
}
