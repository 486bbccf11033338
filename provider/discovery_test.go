package provider_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestDiscoveryGolden(t *testing.T) {
	env := testenv.New(t)
	resp, err := http.Get(env.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["claims_parameter_supported"] != true {
		t.Fatal("claims_parameter_supported is not true")
	}
	var pretty bytes.Buffer
	enc := json.NewEncoder(&pretty)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(doc)
	got := strings.ReplaceAll(pretty.String(), env.URL, "{{issuer}}")

	golden := filepath.Join("testdata", "discovery.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestDiscoveryGolden -update)", err)
	}
	if got != string(want) {
		t.Fatalf("discovery document changed (go test -update to accept):\n%s", got)
	}
}
