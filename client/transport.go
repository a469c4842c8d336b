package client

import (
	"context"
	"io"
	"net/http"
)

// AccessToken returns the current access token, refreshed first when it is
// due, for calling a service that verifies Latchkey's tokens. Prefer
// Transport, which also retries once after a refresh.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	return c.accessToken(ctx)
}

// Transport returns an http.RoundTripper that sends each request through
// base (http.DefaultTransport when nil) with the client's access token as a
// bearer token, refreshed when due. On a 401 answer it refreshes and sends
// the request once more, if its body can be sent again (GetBody is set, as
// http.NewRequest does for in-memory bodies). Use it in an http.Client for
// resource servers that verify Latchkey's tokens, never for other hosts:
// the token goes with every request.
func (c *Client) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{c: c, base: base}
}

type transport struct {
	c    *Client
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.c.accessToken(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	res, err := t.base.RoundTrip(withBearer(req, tok))
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		return res, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return res, nil
	}

	fresh, err := t.c.refreshFrom(ctx, tok)
	if err != nil {
		// The first answer stands: the caller sees the 401 it explains.
		return res, nil
	}
	retry := withBearer(req, fresh)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return res, nil
		}
		retry.Body = body
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return t.base.RoundTrip(retry)
}

// withBearer returns a copy of req with the access token; a RoundTripper
// must not change the request it is given.
func withBearer(req *http.Request, tok string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
