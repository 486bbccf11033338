package sdk

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/hashicorp/go-plugin"
	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ProtocolVersion is the version of the plugin protocol this SDK speaks
// (pluginpb, method.proto). A host and a plugin must share one.
const ProtocolVersion = 1

// PluginName is the name under which the method is dispensed in the
// go-plugin plugin set.
const PluginName = "method"

// Handshake is the go-plugin handshake between stepup and its method
// plugins. The magic cookie only keeps a person from starting a plugin by
// hand; it is not a security measure (AutoMTLS and the host's checksum
// are).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "STEPUP_METHOD_PLUGIN",
	MagicCookieValue: "b1d6a8e4c3f1452a9d0c7e6f5a4b3c2d",
}

// Serve runs m as a plugin and returns when the host ends the plugin. It
// is what a plugin's main calls; started by hand (without the host's
// handshake) it prints a notice and exits with status 1.
//
// Unless GOMAXPROCS is set, Serve runs the plugin's goroutines on one
// thread at a time: a method's work is microseconds per call, and handing
// each call between threads (gRPC reads, handles and writes on different
// goroutines) cost more than the work on a small machine.
func Serve(m Method) {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			ProtocolVersion: {PluginName: &methodPlugin{impl: m}},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, pluginpb.ServerOptions()...)
			return grpc.NewServer(append(opts, grpc.ChainUnaryInterceptor(recoverPanics))...)
		},
	})
}

// methodPlugin is the plugin side of the go-plugin plugin set.
type methodPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Method
}

// GRPCServer registers the Method service.
func (p *methodPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	registerMethodServer(s, broker, p.impl)
	return nil
}

// GRPCClient is the host's business (plugins/host); a plugin never calls it.
func (p *methodPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("sdk: the method client lives in plugins/host")
}

// recoverPanics turns a panic in a method into an error for that call
// instead of a crash of the whole plugin.
func recoverPanics(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "panic in %s: %v\n%s", info.FullMethod, r, debug.Stack())
			err = status.Errorf(codes.Internal, "plugin panic in %s", info.FullMethod)
		}
	}()
	return handler(ctx, req)
}
