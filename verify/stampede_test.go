package verify_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/testserver"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/verify"
)

// TestARotationSeenByManyRequestsAtOnceFetchesTheKeysOnce has fifty
// requests carrying tokens of a key the verifier has not seen arrive at
// the same moment, as right after a rotation: one fetch serves them all,
// and every one verifies.
func TestARotationSeenByManyRequestsAtOnceFetchesTheKeysOnce(t *testing.T) {
	t.Parallel()
	first := newSigningKey(t, token.EdDSA)
	second := newSigningKey(t, token.EdDSA)
	before := testserver.Start(t, testserver.Options{Keys: keySet(t, first)})
	after := testserver.Start(t, testserver.Options{Store: before.Store,
		Keys: keySet(t, first, second)})
	lb := &switchable{}
	lb.point(t, before.URL)
	var fetches countingJWKS
	jwks := httptest.NewServer(fetches.wrap(lb))
	t.Cleanup(jwks.Close)
	clock := testserver.NewClock(time.Now())
	v := newVerifier(t, verify.Options{JWKSURL: jwks.URL + "/.well-known/jwks.json",
		Now: clock.Now, MinRefetchInterval: time.Minute})

	if _, err := v.Verify(context.Background(), register(t, before.URL,
		"first@example.com")); err != nil {
		t.Fatalf("a token of the first key: %v", err)
	}
	lb.point(t, after.URL)
	clock.Advance(time.Minute)
	tok := register(t, after.URL, "second@example.com")

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() {
			<-start
			_, errs[i] = v.Verify(context.Background(), tok)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v; want the new key's token verified", i, err)
		}
	}
	if got := fetches.n.Load(); got != 2 {
		t.Errorf("%d key set fetches; want 2: the first use and one for the new kid", got)
	}
}
