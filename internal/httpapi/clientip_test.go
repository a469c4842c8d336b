package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddrBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}
	tests := []struct {
		name   string
		peer   string
		xff    []string
		wanted string
	}{
		{"a peer without a header is the client",
			"203.0.113.7:5123", nil, "203.0.113.7"},
		{"an untrusted peer's header is ignored",
			"203.0.113.7:5123", []string{"198.51.100.1"}, "203.0.113.7"},
		{"an untrusted peer cannot pose as a trusted proxy",
			"203.0.113.7:5123", []string{"198.51.100.1, 10.0.0.2"}, "203.0.113.7"},
		{"a trusted proxy's forwarded address is used",
			"10.0.0.2:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the rightmost untrusted hop wins over what the client wrote",
			"10.0.0.2:443", []string{"6.6.6.6, 198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		{"repeated headers read as one list",
			"10.0.0.2:443", []string{"6.6.6.6", "198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted hops ends at its leftmost",
			"10.0.0.2:443", []string{"10.0.0.9, 10.0.0.3"}, "10.0.0.9"},
		{"a garbled hop stops trust at the last vouched address",
			"10.0.0.2:443", []string{"198.51.100.1, bogus, 10.0.0.3"}, "10.0.0.3"},
		{"an IPv6 proxy forwards too",
			"[fd00::1]:443", []string{"2001:db8::5"}, "2001:db8::5"},
		{"an IPv4-mapped peer is plain IPv4",
			"[::ffff:203.0.113.7]:5123", nil, "203.0.113.7"},
		{"an IPv4-mapped forwarded address is plain IPv4",
			"10.0.0.2:443", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"an IPv4-mapped trusted proxy is trusted",
			"[::ffff:10.0.0.2]:443", []string{"198.51.100.1"}, "198.51.100.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/api/auth/profile", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientAddr(r, trusted).String(); got != tc.wanted {
				t.Errorf("clientAddr = %s; want %s", got, tc.wanted)
			}
		})
	}
}

func TestClientKeyBucketsIPv6By64AndIPv4ByAddress(t *testing.T) {
	t.Parallel()
	key := func(s string) string {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = s
		return clientKey(clientAddr(r, nil))
	}
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"two addresses of one IPv6 /64 share a bucket",
			"[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff:ffff:ffff:ffff]:1", true},
		{"neighbouring IPv6 /64s do not",
			"[2001:db8:1:2::1]:1", "[2001:db8:1:3::1]:1", false},
		{"an IPv4-mapped address shares its IPv4 bucket",
			"[::ffff:198.51.100.1]:1", "198.51.100.1:2", true},
		{"neighbouring IPv4 addresses do not",
			"198.51.100.1:1", "198.51.100.2:1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ka, kb := key(tc.a), key(tc.b)
			if (ka == kb) != tc.same {
				t.Errorf("keys %q and %q: same = %v; want %v", ka, kb, ka == kb, tc.same)
			}
		})
	}

	if got := clientKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); got != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 key = %q; want 2001:db8:1:2::/64", got)
	}
	if got := clientKey(netip.Addr{}); got != "unknown" {
		t.Errorf("key of no address = %q; want unknown", got)
	}
}
