package pluginpb

import "google.golang.org/grpc"

// windowSize is the HTTP/2 flow-control window on both ends of every
// plugin connection. Setting it turns off gRPC's bandwidth-delay estimator,
// which otherwise answers nearly every small message with a PING round trip
// of its own: on a local socket carrying messages of a few hundred bytes
// that doubled the frames, the syscalls and the wake-ups per call.
const windowSize = 1 << 20

// ServerOptions tunes a gRPC server on a plugin connection: the plugin's
// Method service and the host services the host serves back through the
// broker.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InitialWindowSize(windowSize),
		grpc.InitialConnWindowSize(windowSize),
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
