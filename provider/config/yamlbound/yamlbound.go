// Package yamlbound bounds the work of reading a YAML document: its size,
// and how many values its aliases and merge keys (<<) expand to, so that a
// few hundred bytes of nested anchors cannot keep a reader busy for
// minutes.
package yamlbound

import (
	"errors"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// Bounds of a document.
const (
	MaxFileSize      = 1 << 20
	MaxExpandedNodes = 100_000
)

// ErrTooLarge: the file is over MaxFileSize.
var ErrTooLarge = errors.New("yamlbound: file too large")

// ReadFile reads path, refusing a file over MaxFileSize (ErrTooLarge)
// without reading more than one byte past it.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, ErrTooLarge
	}
	return data, nil
}

// Expanded counts the values n stands for once every alias is replaced by
// what it names, stopping past MaxExpandedNodes; it is linear in the
// nodes written (memoised), and a cycle counts as too many.
func Expanded(n *yaml.Node) int { return expanded(n, map[*yaml.Node]int{}) }

func expanded(n *yaml.Node, memo map[*yaml.Node]int) int {
	if n == nil {
		return 0
	}
	if c, ok := memo[n]; ok {
		return c
	}
	memo[n] = MaxExpandedNodes + 1 // a cycle expands without end
	c := 1
	if n.Kind == yaml.AliasNode {
		c = expanded(n.Alias, memo)
	}
	for _, child := range n.Content {
		if c > MaxExpandedNodes {
			break
		}
		c += expanded(child, memo)
	}
	memo[n] = min(c, MaxExpandedNodes+1)
	return memo[n]
}
