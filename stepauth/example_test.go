package stepauth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/stepup-mfa/stepup/stepauth"
)

func Example() {
	ctx := context.Background()
	v, err := stepauth.NewVerifier(stepauth.Config{
		Issuer:   "https://stepup.example.com",
		Keys:     stepauth.NewRemoteKeySet(ctx, "https://stepup.example.com/keys"),
		Audience: "payments-app",
		Levels:   stepauth.DefaultLevels(),
	})
	if err != nil {
		log.Fatal(err)
	}

	transfer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := stepauth.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "transfer by %s at %s via %v\n", c.Subject, c.ACR, c.AMR)
	})
	users := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stepauth.WriteProblem(w, http.StatusNotFound, "No such user", "no user is named "+r.PathValue("name"))
	})

	mux := http.NewServeMux()
	// A user who signed in with aal2 or stronger within 15 minutes.
	mux.Handle("POST /transfers", v.Require(stepauth.Requirement{
		ACR:    "aal2",
		MaxAge: 15 * time.Minute,
	}, transfer))
	// An admin automation client, or a recently stepped-up human admin.
	mux.Handle("GET /admin/users/{name}", v.Require(stepauth.Requirement{
		ACR:                    "aal2",
		MaxAge:                 15 * time.Minute,
		Permission:             "manage_mfa",
		AllowClientCredentials: true,
	}, users))

	_ = &http.Server{Addr: "127.0.0.1:9000", Handler: mux}
}

func ExampleLevels_Satisfies() {
	levels, err := stepauth.NewLevels([][]string{
		{"aal1"},
		{"aal2", "http://idmanagement.gov/ns/assurance/aal/2"},
		{"aal3", "phrh"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(levels.Satisfies("phrh", "aal2"))
	fmt.Println(levels.Satisfies("http://idmanagement.gov/ns/assurance/aal/2", "aal2"))
	fmt.Println(levels.Satisfies("aal1", "aal2"))
	fmt.Println(levels.Names("aal2"))
	// Output:
	// true
	// true
	// false
	// [aal2 http://idmanagement.gov/ns/assurance/aal/2]
}
