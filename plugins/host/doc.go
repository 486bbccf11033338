// Package host is the provider's side of the method plugins: it starts a
// plugin as a subprocess (Launch, or a Registry of several), checks an
// external plugin's SHA-256 before it runs, speaks gRPC to it over
// go-plugin with AutoMTLS, bounds every call with a timeout, and restarts
// a crashed plugin with exponential backoff while reporting it unhealthy.
//
// It also serves each plugin its host services over the go-plugin broker:
// a key-value view confined to the method's namespace (Namespace(name)),
// whose values are sealed with AES-256-GCM under a key the provider gives
// (additional data: namespace and key, so a value cannot be moved), and a
// rate limiter whose keys are confined the same way. The plugin names keys
// only; it cannot reach another namespace. When the Backend is also a
// Mailer, a third service emails the provider's users (sdk.SendMail): the
// plugin names the user, the Backend finds the address, so a plugin cannot
// mail anyone else; without one, the service answers sdk.ErrUnavailable.
//
// The host stores nothing itself: a Backend does, with the semantics of
// the KV* and CountEvent methods of provider/storage.Store. This package
// must not import provider/...; the provider adapts its store, for example:
//
//	type pluginBackend struct{ s storage.Store }
//
//	func (b pluginBackend) KVGet(ctx context.Context, ns, key string, now time.Time) (host.KVEntry, error) {
//		e, err := b.s.KVGet(ctx, ns, key, now)
//		return host.KVEntry(e), pluginErr(err)
//	}
//	// ... KVPut, KVDelete, KVList, CountEvent alike ...
//
//	func pluginErr(err error) error {
//		switch {
//		case errors.Is(err, storage.ErrNotFound):
//			return fmt.Errorf("%w: %w", sdk.ErrNotFound, err)
//		case errors.Is(err, storage.ErrConflict):
//			return fmt.Errorf("%w: %w", sdk.ErrConflict, err)
//		}
//		return err
//	}
//
// The host knows no built-in method: every plugin is a Spec with a path
// and a checksum. plugins/launch fills it for a built-in from
// plugins.BuiltinCommand: the stepup-NAME binary that make build put
// beside stepup, pinned to the checksum stepup's build recorded, or else
// stepup itself, re-executed as `stepup plugin NAME`, pinned to its own.
//
// What must not live here: HTTP, sessions, the choice of a method (the
// provider and authflow decide), and anything a plugin author imports
// (plugins/sdk). hosttest has an in-memory Backend and a settable clock.
package host
