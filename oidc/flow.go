package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/crated/crated"
)

// stateCookie carries the state back to the callback, so a callback is only
// accepted in the browser that started the login.
const stateCookie = "crated_openid_state"

// stateKey is what the store keeps of a state: its SHA-256, so a reader of
// the database cannot finish someone's pending login.
func stateKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// start begins a login of the given kind: it stores the pending login and
// sends the browser to the provider.
func (l *Login) start(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// 128-bit random values from crypto/rand; the PKCE verifier is
		// oauth2's (256 bits).
		state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
		now := l.cfg.Now()
		err := l.states.PutLoginState(r.Context(), &crated.LoginState{
			Key:          stateKey(state),
			Nonce:        nonce,
			PKCEVerifier: verifier,
			Kind:         kind,
			ExpiresAt:    now.Add(l.cfg.StateTTL),
		})
		if err != nil {
			l.fail(w, r, err)
			return
		}
		http.SetCookie(w, l.stateCookie(state, int(l.cfg.StateTTL.Seconds())))
		u := l.oauth2Config(kind).AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, u, http.StatusFound)
	}
}

// stateCookie is the cookie that carries state to the callbacks only;
// maxAge -1 deletes it.
func (l *Login) stateCookie(state string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     stateCookie,
		Value:    state,
		Path:     l.cookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   l.secure,
		// Lax: the cookie must come along on the provider's top-level
		// redirect back to the callback.
		SameSite: http.SameSiteLaxMode,
	}
}

// callback finishes a login: the provider sent the browser back with a code
// (or an error) and the state.
func (l *Login) callback(w http.ResponseWriter, r *http.Request) {
	// The state cookie has served its purpose whatever the outcome.
	http.SetCookie(w, l.stateCookie("", -1))
	res, err := l.finish(r)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	l.showResult(w, r, res)
}

// finish checks the callback and returns what the user is shown. Every
// error it returns carries a message that is safe to show.
func (l *Login) finish(r *http.Request) (*crated.LoginResult, error) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	if e := q.Get("error"); e != "" {
		// The login is over: drop its pending state, if any, and show the
		// provider's reason (access_denied when the user said no).
		if state != "" {
			_, _ = l.states.TakeLoginState(ctx, stateKey(state), l.cfg.Now())
		}
		return nil, providerError(e, q.Get("error_description"))
	}
	if state == "" {
		return nil, crated.Errorf(crated.EINVALID, "This login link has no state parameter. Start again at /me.")
	}
	st, err := l.states.TakeLoginState(ctx, stateKey(state), l.cfg.Now())
	if crated.IsCode(err, crated.ENOTFOUND) {
		return nil, crated.Errorf(crated.EINVALID, "This login is unknown, was already used, or has expired. Start again at /me.")
	} else if err != nil {
		return nil, err
	}
	// The pending login is gone from the store now, whatever happens next:
	// a state is good for one try.
	if c, err := r.Cookie(stateCookie); err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		return nil, crated.Errorf(crated.EINVALID,
			"This login was started in another browser, or its cookie was blocked. Start again at /me in this browser.")
	}
	code := q.Get("code")
	if code == "" {
		return nil, crated.Errorf(crated.EINVALID, "The identity provider sent no authorization code. Start again at /me.")
	}

	id, err := l.identify(ctx, st, code)
	if err != nil {
		return nil, err
	}
	if !l.allowed(id) {
		l.log.InfoContext(ctx, "openid login refused by the allow lists",
			"issuer", id.Issuer, "subject", id.Subject, "username", id.Username, "groups", id.Groups)
		return nil, crated.Errorf(crated.EFORBIDDEN,
			"%s:%s may not log in to this registry: neither the user nor one of their groups is on the allow lists. Ask the registry's administrator.",
			id.IssuerHost, id.Username)
	}
	replace := st.Kind == kindReplace
	res, err := l.accounts.OIDCLogin(ctx, *id, replace)
	if err != nil {
		return nil, err
	}
	l.log.InfoContext(ctx, "openid login",
		"username", res.Username, "issuer", id.Issuer, "subject", id.Subject,
		"replace", replace, "new_token", res.NewToken != "")
	return res, nil
}

// identify exchanges the code, verifies the ID token and reads userinfo.
func (l *Login) identify(ctx context.Context, st *crated.LoginState, code string) (*crated.Identity, error) {
	pctx := gooidc.ClientContext(ctx, l.client)
	tok, err := l.oauth2Config(st.Kind).Exchange(pctx, code, oauth2.VerifierOption(st.PKCEVerifier))
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		l.log.WarnContext(ctx, "openid token endpoint refused the code",
			"status", re.Response.StatusCode, "oauth_error", re.ErrorCode, "oauth_error_description", re.ErrorDescription)
		if re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client" {
			return nil, crated.Errorf(crated.EINTERNAL,
				"The identity provider does not accept this registry's client credentials. Ask the registry's administrator to check client_id and client_secret.")
		}
		return nil, crated.Errorf(crated.EINVALID,
			"The identity provider refused the login code (%s). Start again at /me.", errorCode(re))
	} else if err != nil {
		l.log.WarnContext(ctx, "openid token endpoint unreachable", "err", err)
		return nil, crated.Errorf(crated.EUNAVAILABLE, "The identity provider cannot be reached. Try again later.")
	}

	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, crated.Errorf(crated.EFORBIDDEN, "The identity provider returned no ID token; the application must allow the openid scope.")
	}
	failures := l.transport.failures.Load()
	idt, err := l.verifier.Verify(pctx, raw)
	if err != nil && l.transport.failures.Load() != failures {
		// The signing keys could not be fetched (see watchedTransport).
		l.log.WarnContext(ctx, "openid signing keys unreachable", "err", err)
		return nil, crated.Errorf(crated.EUNAVAILABLE, "The identity provider's signing keys cannot be read. Try again later.")
	} else if err != nil {
		// go-oidc's messages name the failed check (audience, expiry,
		// signature, issuer), never the token itself.
		l.log.WarnContext(ctx, "openid ID token rejected", "err", err)
		return nil, crated.Errorf(crated.EFORBIDDEN, "The ID token from the identity provider did not verify. Start again at /me.")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		l.log.WarnContext(ctx, "openid ID token has the wrong nonce", "subject", idt.Subject)
		return nil, crated.Errorf(crated.EFORBIDDEN, "The ID token from the identity provider does not belong to this login. Start again at /me.")
	}
	var idClaims map[string]any
	if err := idt.Claims(&idClaims); err != nil {
		return nil, crated.Errorf(crated.EFORBIDDEN, "The ID token from the identity provider cannot be read.")
	}

	ui, err := l.provider.UserInfo(pctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		l.log.WarnContext(ctx, "openid userinfo failed", "err", err)
		return nil, crated.Errorf(crated.EUNAVAILABLE, "The user's profile could not be read from the identity provider. Try again later.")
	}
	// OpenID Connect Core 5.3.2: a userinfo response for another subject
	// must not be used.
	if ui.Subject != idt.Subject {
		l.log.WarnContext(ctx, "openid userinfo subject differs from the ID token's", "id_token_sub", idt.Subject, "userinfo_sub", ui.Subject)
		return nil, crated.Errorf(crated.EFORBIDDEN, "The identity provider's profile does not match the ID token.")
	}
	var uiClaims map[string]any
	if err := ui.Claims(&uiClaims); err != nil {
		return nil, crated.Errorf(crated.EUNAVAILABLE, "The user's profile from the identity provider cannot be read.")
	}

	id := l.identity(idt.Issuer, idt.Subject, claims{uiClaims, idClaims})
	if id.Username == "" {
		return nil, crated.Errorf(crated.EFORBIDDEN,
			"The identity provider sent no user name (claim %q or \"preferred_username\"); the registry's administrator may need to request the profile scope.",
			l.cfg.UsernameClaim)
	}
	return id, nil
}

// providerError is the page for an error= sent back by the provider, for
// example when the user denied access.
func providerError(code, description string) error {
	msg := "The identity provider refused the login: " + clip(code)
	if description != "" {
		msg += ": " + clip(description)
	}
	if code == "access_denied" {
		return crated.Errorf(crated.EFORBIDDEN, "%s", msg)
	}
	return crated.Errorf(crated.EINVALID, "%s", msg)
}

func errorCode(re *oauth2.RetrieveError) string {
	if re.ErrorCode != "" {
		return re.ErrorCode
	}
	return http.StatusText(re.Response.StatusCode)
}

// clip shortens text that comes from the query string before it is shown.
func clip(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
