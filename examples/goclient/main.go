// Command goclient shows the Go client generated from openapi.yaml (gen/client) at work: it
// registers an account, creates an API key, and lists the Pinterest accounts with that key.
//
//	go run ./examples/goclient -url http://localhost:8080 -email you@example.com
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/pinbridge/pinbridge-auth/gen/client"
)

func main() {
	base := flag.String("url", "http://localhost:8080", "PinBridge Auth base URL")
	email := flag.String("email", "you@example.com", "email to register")
	password := flag.String("password", "your-strong-password", "password to register with")
	flag.Parse()
	if err := run(context.Background(), *base, *email, *password, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "goclient:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, base, email, password string, out io.Writer) error {
	c, err := client.NewClientWithResponses(base)
	if err != nil {
		return err
	}

	// 1. Register (a 409 means the account exists: log in instead).
	var token string
	reg, err := c.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{
		FullName: "Jane Doe", Email: client.Email(email), Password: password,
	})
	if err != nil {
		return err
	}
	switch {
	case reg.JSON201 != nil:
		token = reg.JSON201.AccessToken
		fmt.Fprintf(out, "registered %s in organization %q\n", reg.JSON201.User.Email, reg.JSON201.Organization.Name)
	case reg.JSON409 != nil:
		login, err := c.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: client.Email(email), Password: password})
		if err != nil {
			return err
		}
		if login.JSON200 == nil {
			return fmt.Errorf("login: %d %s", login.StatusCode(), login.Body)
		}
		token = login.JSON200.AccessToken
		fmt.Fprintf(out, "logged in as %s\n", login.JSON200.User.Email)
	default:
		return fmt.Errorf("register: %d %s", reg.StatusCode(), reg.Body)
	}
	withSession := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}

	// 2. Create an API key for server-to-server calls (its plaintext is shown only here).
	key, err := c.CreateAPIKeyWithResponse(ctx, client.CreateAPIKeyJSONRequestBody{Name: "Go example"}, withSession)
	if err != nil {
		return err
	}
	if key.JSON201 == nil {
		return fmt.Errorf("create key: %d %s", key.StatusCode(), key.Body)
	}
	fmt.Fprintf(out, "created API key %s… (store the full key in a secrets manager)\n", *key.JSON201.Prefix)

	// 3. Call with the key, as a backend job would.
	withKey := func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-API-Key", key.JSON201.APIKey)
		return nil
	}
	accounts, err := c.ListPinterestAccountsWithResponse(ctx, withKey)
	if err != nil {
		return err
	}
	if accounts.JSON200 == nil {
		return fmt.Errorf("list accounts: %d %s", accounts.StatusCode(), accounts.Body)
	}
	fmt.Fprintf(out, "%d Pinterest accounts connected\n", len(*accounts.JSON200))
	return nil
}
