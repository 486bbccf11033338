// Package pluginpb holds the protocol buffers spoken between stepup and a
// method plugin: the Method service (served by the plugin) and the Storage
// and RateLimit services (served by the host over the go-plugin broker).
//
// The .pb.go files are generated and committed, so a build needs no protoc.
// Plugin authors do not use this package; they implement sdk.Method.
// Regenerate after editing a .proto (Debian protobuf-compiler,
// protoc-gen-go v1.36.6, protoc-gen-go-grpc v1.5.1 on PATH):
//
//	go generate ./plugins/sdk/pluginpb
package pluginpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative method.proto host.proto
