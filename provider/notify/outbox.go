package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// OutboxFrom is the From header of messages written to an outbox.
const OutboxFrom = "stepup <stepup@localhost>"

// NewOutbox returns a Sender that writes each message to its own file in
// dir instead of sending it: the default when smtp.addr is empty, meant
// for development, demos and tests.
//
// Each file is a complete RFC 5322 message (headers, a blank line, the
// body in 8-bit UTF-8, CRLF line endings) that a mail client can open,
// named "<UTC timestamp>-<random>.eml" so that names sort by time. A file
// appears under its final name only once complete. dir is created with
// mode 0700 if missing (an existing dir keeps its mode); files are 0600.
//
// Messages are stored in clear and never deleted by stepup: whoever can
// read dir can read every message, including any code an email or SMS
// method puts in one. Do not use an outbox for real users.
//
// Every message logs one line at Info, "message written to outbox", with
// the recipient, the subject and the file, never the body. A nil log uses
// slog.Default.
func NewOutbox(dir string, log *slog.Logger) Sender {
	if log == nil {
		log = slog.Default()
	}
	return &outbox{dir: dir, log: log}
}

type outbox struct {
	dir string
	log *slog.Logger
}

func (o *outbox) Send(ctx context.Context, m Message) error {
	msg, err := m.build(OutboxFrom, gomail.NoEncoding)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("notify: not written to outbox for %s: %w", m.To, err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return fmt.Errorf("notify: rendering message for %s: %w", m.To, err)
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fmt.Errorf("notify: outbox: %w", err)
	}
	name, err := outboxName(time.Now())
	if err != nil {
		return err
	}
	path := filepath.Join(o.dir, name)
	if err := writeNew(path, buf.Bytes()); err != nil {
		return fmt.Errorf("notify: outbox: %w", err)
	}
	o.log.Info("message written to outbox", "to", m.To, "subject", m.Subject, "file", path)
	return nil
}

func outboxName(t time.Time) (string, error) {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("notify: outbox file name: %w", err)
	}
	return t.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(r[:]) + ".eml", nil
}

// writeNew writes data to a hidden temporary file next to path and
// renames it, so a reader of the directory never sees half a message.
func writeNew(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
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

// ReadOutbox returns the messages in an outbox directory, oldest first,
// with To as the bare address, the subject decoded and the body as
// written (line endings "\n").
// A missing directory holds no messages. It is for tests and tools that
// play the recipient, e.g. to read a code a method sent.
func ReadOutbox(dir string) ([]Message, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("notify: reading outbox: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".eml") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	msgs := make([]Message, 0, len(names))
	for _, n := range names {
		m, err := readEML(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

func readEML(path string) (Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return Message{}, fmt.Errorf("notify: reading outbox: %w", err)
	}
	defer f.Close()
	pm, err := mail.ReadMessage(f)
	if err != nil {
		return Message{}, fmt.Errorf("notify: reading outbox file %s: %w", path, err)
	}
	body, err := io.ReadAll(pm.Body)
	if err != nil {
		return Message{}, fmt.Errorf("notify: reading outbox file %s: %w", path, err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	if err != nil {
		return Message{}, fmt.Errorf("notify: outbox file %s: subject: %w", path, err)
	}
	to := pm.Header.Get("To")
	if a, err := mail.ParseAddress(to); err == nil {
		to = a.Address
	}
	return Message{To: to, Subject: subject, Text: strings.ReplaceAll(string(body), "\r\n", "\n")}, nil
}
