package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// errNotLoopback refuses any destination outside this machine: the tool
// generates load, and load is only ever aimed at a server of our own.
var errNotLoopback = errors.New("only loopback addresses may be targeted")

// loopbackURL parses target and checks that it names a loopback host.
func loopbackURL(target string) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-url %q: want http://host:port", target)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("-url %q: want a base URL without credentials or query", target)
	}
	host := u.Hostname()
	if host != "localhost" {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Unmap().IsLoopback() {
			return nil, fmt.Errorf("-url %q: %w", target, errNotLoopback)
		}
	}
	return u, nil
}

// checkLoopback is a dialer hook that refuses every connection whose peer
// is not a loopback address, whatever a name resolved to.
func checkLoopback(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Unmap().IsLoopback() {
		return fmt.Errorf("dial %s: %w", address, errNotLoopback)
	}
	return nil
}

// newClient returns an HTTP client that keeps up to conns connections
// alive, uses no proxy, follows no redirect and dials only loopback.
func newClient(conns int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second,
		Control: checkLoopback}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
