package storetest

import (
	"testing"

	"github.com/latchkey/latchkey/internal/store"
)

// BenchmarkRotation measures refresh token rotation, the API's most
// frequent write: each parallel client keeps rotating the live token of a
// session of its own, as refreshing clients do.
func BenchmarkRotation(b *testing.B, s store.Store) {
	u := makeUser(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		sess, tok := newSession(b, u, base)
		if err := s.CreateSession(b.Context(), sess, tok); err != nil {
			b.Errorf("CreateSession: %v", err)
			return
		}
		for pb.Next() {
			next := newToken(b, sess, base)
			if err := s.RotateRefreshToken(b.Context(), tok.ID, next, base); err != nil {
				b.Errorf("RotateRefreshToken: %v", err)
				return
			}
			tok = next
		}
	})
}

// BenchmarkRefreshState measures the lookup every refresh starts with.
func BenchmarkRefreshState(b *testing.B, s store.Store) {
	u := makeUser(b, s)
	_, tok := makeSession(b, s, u, base)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.RefreshState(b.Context(), tok.TokenHash); err != nil {
				b.Errorf("RefreshState: %v", err)
				return
			}
		}
	})
}
