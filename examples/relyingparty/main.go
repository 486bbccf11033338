// Command relyingparty is an example web application, Example Bank, that
// signs its users in with stepup and steps up before a sensitive action
// (the application is package bank; `stepup serve --demo` serves the same).
//
// With `stepup serve --demo` running on http://localhost:8080 (which
// serves this application itself on http://localhost:9000), or with the
// demo's client in another stepup:
//
//	go run ./examples/relyingparty
//
// then open http://localhost:9000 and sign in as alice. The defaults match
// the demo's public client demo-app; a confidential client gives its secret
// in RP_CLIENT_SECRET.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/stepup-mfa/stepup/examples/relyingparty/bank"
)

func main() {
	cfg := bank.Config{}
	listen := flag.String("listen", "127.0.0.1:9000", "host:port to listen on")
	flag.StringVar(&cfg.Issuer, "issuer", "http://localhost:8080", "stepup's issuer URL")
	flag.StringVar(&cfg.ClientID, "client-id", "demo-app", "this application's client ID at stepup")
	flag.StringVar(&cfg.BaseURL, "base-url", "http://localhost:9000", "where browsers reach this application (redirect URI: BASE/callback)")
	flag.Parse()
	cfg.ClientSecret = os.Getenv("RP_CLIENT_SECRET") // not a flag: flags show in a process listing
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}

	a, err := bank.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relyingparty:", err)
		os.Exit(1)
	}
	cfg.Logger.Info("relying party ready", "url", cfg.BaseURL, "issuer", cfg.Issuer, "client_id", cfg.ClientID)
	srv := &http.Server{Addr: *listen, Handler: a, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "relyingparty:", err)
		os.Exit(1)
	}
}
