package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestHelpListsServe(t *testing.T) {
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "serve") {
		t.Fatalf("help does not list serve:\n%s", out.String())
	}
}
