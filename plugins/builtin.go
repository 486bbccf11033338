package plugins

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
)

// BuiltinPackage is the import path of the command that serves the
// built-in method name on its own, the binary stepup-NAME: the main
// package plugins/NAME/cmd/stepup-NAME, beside the method's package
// plugins/NAME.
func BuiltinPackage(name string) string {
	return "github.com/stepup-mfa/stepup/plugins/" + name + "/cmd/stepup-" + name
}

// BuiltinSHA256Flag begins the linker flag with which `make build` records
// in stepup the SHA-256 of each built-in method's binary it built beside
// it: BuiltinSHA256Flag + "tempcode:HEX,totp:HEX". The flag names no
// variable: it is there to be recorded in stepup's build information,
// where BuiltinCommand reads it, so that it holds for any stepup
// executable, not only the running one.
const BuiltinSHA256Flag = "-X github.com/stepup-mfa/stepup/plugins.builtinSHA256="

// recordedSHA256 is the checksum of stepup-name that the build described
// by bi recorded, or "" when it recorded none.
func recordedSHA256(bi *debug.BuildInfo, name string) string {
	for _, s := range bi.Settings {
		if s.Key != "-ldflags" {
			continue
		}
		_, sums, ok := strings.Cut(s.Value, BuiltinSHA256Flag)
		if !ok {
			return ""
		}
		sums, _, _ = strings.Cut(sums, " ")
		for _, entry := range strings.Split(sums, ",") {
			if n, sum, ok := strings.Cut(entry, ":"); ok && n == name {
				return sum
			}
		}
	}
	return ""
}

// Command is how stepup runs one built-in method: the executable, its
// arguments, and the SHA-256 of the executable that every start of the
// process, the first and each restart, is checked against (host.Spec).
type Command struct {
	Path   string
	Args   []string
	SHA256 string
	// Skipped says why a stepup-NAME beside stepup was not used; nil when
	// it is used or when there is none.
	Skipped error
}

// BuiltinCommand says how the stepup executable self runs the built-in
// method name. When stepup was built by `make build`, which recorded the
// SHA-256 of each stepup-NAME it built beside it (BuiltinSHA256Flag), it is
// that binary, with no arguments, pinned to that checksum: a process of
// its own size, well under half the resident memory of a re-executed
// stepup. A file there that does not have the checksum is refused when it
// is started, as an external plugin with the wrong checksum is. Otherwise
// it is self, re-executed as `self plugin NAME`, which is always there (go
// install gives only stepup), pinned to the checksum self has now; Skipped
// then says why a stepup-NAME there was not used.
//
// Either way a file swapped in after this call never runs: each restart
// after a crash checks the checksum again. The error is for a self that
// cannot be read or is not a Go program.
func BuiltinCommand(self, name string) (Command, error) {
	bi, err := buildinfo.ReadFile(self)
	if err != nil {
		return Command{}, fmt.Errorf("method %s: the stepup executable %s, which runs it: %w", name, self, err)
	}
	return builtinCommand(self, name, recordedSHA256(bi, name))
}

// builtinCommand is BuiltinCommand for a stepup whose build recorded the
// checksum recorded of stepup-name ("" for none).
func builtinCommand(self, name, recorded string) (Command, error) {
	sibling := filepath.Join(filepath.Dir(self), "stepup-"+name)
	var skipped error
	fi, err := os.Stat(sibling)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		skipped = err
	case !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0:
		skipped = fmt.Errorf("%s: not an executable file", sibling)
	case recorded == "":
		skipped = fmt.Errorf("%s: stepup records no checksum of it: only make build pairs stepup with its methods' binaries", sibling)
	default:
		return Command{Path: sibling, SHA256: recorded}, nil
	}
	sum, err := fileSHA256(self)
	if err != nil {
		return Command{}, fmt.Errorf("method %s: checksum of the stepup executable %s, which runs it: %w", name, self, err)
	}
	return Command{Path: self, Args: []string{"plugin", name}, SHA256: sum, Skipped: skipped}, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
