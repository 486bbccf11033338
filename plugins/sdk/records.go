package sdk

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// callStorage is the Storage of one call: the records the host sent with
// the call (Description.UserRecords) answer Get without a round trip;
// everything else, and every write, goes to the host. A write updates
// the record it touched, so the call reads its own writes; a write that
// fails leaves the record unknown, to be asked of the host again.
type callStorage struct {
	remote Storage
	// committing: the host makes this call's committing write
	// (PutOnCommit), which commit then holds.
	committing bool
	commit     *pluginpb.Commit

	mu    sync.Mutex
	known map[string]record
}

type record struct {
	value   []byte
	version int64 // 0: absent
}

func newCallStorage(remote Storage, records []*pluginpb.Record) *callStorage {
	s := &callStorage{remote: remote}
	if len(records) > 0 {
		s.known = make(map[string]record, len(records))
		for _, r := range records {
			s.known[r.GetKey()] = record{value: r.GetValue(), version: r.GetVersion()}
		}
	}
	return s
}

func (s *callStorage) lookup(key string) (record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.known[key]
	return r, ok
}

// learn records what a write did to key: ok with version (0 for deleted),
// or forget the key when the outcome is unknown.
func (s *callStorage) learn(key string, value []byte, version int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known == nil {
		return
	}
	if _, tracked := s.known[key]; !tracked {
		return
	}
	if !ok {
		delete(s.known, key)
		return
	}
	s.known[key] = record{value: slices.Clone(value), version: version}
}

func (s *callStorage) Get(ctx context.Context, key string) ([]byte, int64, error) {
	if r, ok := s.lookup(key); ok {
		if r.version == 0 {
			return nil, 0, ErrNotFound
		}
		return slices.Clone(r.value), r.version, nil
	}
	return s.remote.Get(ctx, key)
}

func (s *callStorage) Put(ctx context.Context, key string, value []byte, expectVersion int64, ttl time.Duration) (int64, error) {
	v, err := s.remote.Put(ctx, key, value, expectVersion, ttl)
	// A value with a TTL may expire during the call: ask the host again.
	s.learn(key, value, v, err == nil && ttl == 0)
	return v, err
}

func (s *callStorage) Delete(ctx context.Context, key string, expectVersion int64) error {
	err := s.remote.Delete(ctx, key, expectVersion)
	s.learn(key, nil, 0, err == nil)
	return err
}

func (s *callStorage) List(ctx context.Context, prefix string) ([]string, error) {
	return s.remote.List(ctx, prefix)
}
