package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// OutboxSuffix ends the name of every file the outbox writes.
const OutboxSuffix = ".sms.json"

// OutboxMessage is the content of an outbox file, as JSON: {"to": "+E.164",
// "body": "...", "sent_at": RFC 3339}.
type OutboxMessage struct {
	To     string `json:"to"`
	Body   string `json:"body"`
	SentAt string `json:"sent_at"`
}

// outbox writes each message to a file of its own in dir, for
// development, demos and tests: NAME.sms.json, where NAME is the UTC time
// it was sent and a random part, so that names sort by time and never
// clash. A file appears under its name only once complete (written to a
// hidden temporary file, then renamed); files are 0600 and dir is created
// 0700 if missing. Messages are in clear and never deleted: whoever reads
// dir reads every code.
type outbox struct{ dir string }

func newOutbox(dir string) *outbox { return &outbox{dir: dir} }

func (o *outbox) Send(ctx context.Context, m Message) error {
	if o.dir == "" {
		return fmt.Errorf("%w: outbox: the host named no outbox directory (stepup.outbox_dir)", ErrFailed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: outbox: %v", ErrFailed, err)
	}
	data, err := json.Marshal(OutboxMessage{To: m.To, Body: m.Body, SentAt: m.SentAt.UTC().Format(time.RFC3339)})
	if err != nil {
		return fmt.Errorf("%w: outbox: %v", ErrFailed, err)
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return fmt.Errorf("%w: outbox: %v", ErrFailed, err)
	}
	name := m.SentAt.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(r[:]) + OutboxSuffix
	err = writeNew(filepath.Join(o.dir, name), data)
	if errors.Is(err, fs.ErrNotExist) {
		// The directory is made when the first message finds it missing,
		// not looked for before each one.
		if err = os.MkdirAll(o.dir, 0o700); err == nil {
			err = writeNew(filepath.Join(o.dir, name), data)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: outbox: %v", ErrFailed, err)
	}
	return nil
}

// writeNew writes data to a hidden temporary file beside path and renames
// it to path, so that a reader of the directory never sees half a message.
func writeNew(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = f.Chmod(0o600) // whatever the umask
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// ReadOutbox returns the messages in an outbox directory, oldest first (by
// file name), with the names of their files. A missing directory holds
// none. It is for tests and tools that play the phone.
func ReadOutbox(dir string) (names []string, msgs []OutboxMessage, err error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries { // sorted by name
		n := e.Name()
		if !e.Type().IsRegular() || len(n) <= len(OutboxSuffix) || n[0] == '.' || n[len(n)-len(OutboxSuffix):] != OutboxSuffix {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, nil, err
		}
		var m OutboxMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", n, err)
		}
		names, msgs = append(names, n), append(msgs, m)
	}
	return names, msgs, nil
}
