package crated

import (
	"context"
	"encoding/json"
)

// Identity is who an OpenID provider says a user is, after the ID token and
// the userinfo endpoint have been checked.
type Identity struct {
	// Issuer and Subject are the stable key of the user.
	Issuer  string
	Subject string
	// IssuerHost is the host of the issuer URL, the prefix of the login
	// name ("gitlab.com" in "gitlab.com:alice").
	IssuerHost string
	// Username is the provider's login name (GitLab nickname, Dex
	// preferred_username); it may change between logins.
	Username string
	Email    string
	Name     string
	Groups   []string
}

// LoginResult is what the OpenID "/me" and "/replace_token" logins show the
// user, in Ktra's JSON shapes:
//
//	{"username":"gitlab.com:alice","existing_token":"..."}
//	{"username":"gitlab.com:alice","new_token":"...","revoked_token":null}
type LoginResult struct {
	Username      string
	ExistingToken string // set when an existing token is shown again
	NewToken      string // set when a token was issued
	RevokedToken  string // the replaced token, "" when there was none
}

// MarshalJSON renders Ktra's shapes: existing_token alone, or new_token with
// revoked_token (null when nothing was revoked).
func (r LoginResult) MarshalJSON() ([]byte, error) {
	if r.NewToken == "" {
		return json.Marshal(struct {
			Username      string `json:"username"`
			ExistingToken string `json:"existing_token"`
		}{r.Username, r.ExistingToken})
	}
	var revoked *string
	if r.RevokedToken != "" {
		revoked = &r.RevokedToken
	}
	return json.Marshal(struct {
		Username     string  `json:"username"`
		NewToken     string  `json:"new_token"`
		RevokedToken *string `json:"revoked_token"`
	}{r.Username, r.NewToken, revoked})
}

// Accounts is the part of the registry service an OpenID login needs.
type Accounts interface {
	// OIDCLogin finds or creates the user keyed on (Issuer, Subject), keeps
	// its login name "{IssuerHost}:{Username}" current, and returns the
	// token to show. replace=false shows the existing token when one exists
	// (unsealed), else issues one; replace=true always issues a new token and
	// revokes the old one at once.
	OIDCLogin(ctx context.Context, id Identity, replace bool) (*LoginResult, error)
}
