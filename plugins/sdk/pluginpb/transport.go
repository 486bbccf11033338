package pluginpb

import "google.golang.org/grpc"

// windowSize is the HTTP/2 flow-control window on both ends of every
// plugin connection. Setting it turns off gRPC's bandwidth-delay estimator,
// which otherwise answers nearly every small message with a PING round trip
// of its own: on a local socket carrying messages of a few hundred bytes
// that doubled the frames, the syscalls and the wake-ups per call.
const windowSize = 1 << 20

// streamWorkers is how many goroutines a plugin connection's server keeps
// for its calls. gRPC otherwise starts a goroutine per call, whose stack
// then grows by copying through gRPC, protobuf and the handler: an eighth
// of a plugin's CPU in a step-up flow. A worker's stack stays grown. Calls
// beyond the workers (one blocked in a host callback, say) still get a
// goroutine of their own.
const streamWorkers = 8

// ServerOptions tunes a gRPC server on a plugin connection: the plugin's
// Method service and the host services the host serves back through the
// broker.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InitialWindowSize(windowSize),
		grpc.InitialConnWindowSize(windowSize),
		grpc.NumStreamWorkers(streamWorkers),
	}
}

// DialOptions tunes a gRPC client on a plugin connection, to match
// ServerOptions.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithInitialWindowSize(windowSize),
		grpc.WithInitialConnWindowSize(windowSize),
	}
}
