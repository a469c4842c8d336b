package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// cheapArgon2 keeps argon2id fast in tests that are not about its cost.
var cheapArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newTestHasher(t testing.TB, o Options) *Hasher {
	t.Helper()
	if o.Argon2 == (Argon2Params{}) {
		o.Argon2 = cheapArgon2
	}
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.MinCost
	}
	h, err := NewHasher(o)
	if err != nil {
		t.Fatalf("NewHasher(%+v): %v", o, err)
	}
	return h
}

// mustHash hashes plain with h and fails the test on error.
func mustHash(t testing.TB, h *Hasher, plain string) string {
	t.Helper()
	encoded, err := h.Hash(context.Background(), plain)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return encoded
}

func TestNewHasherValidatesOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    Options
	}{
		{"an unknown algorithm is refused", Options{Algorithm: "md5"}},
		{"a bcrypt cost below the minimum is refused", Options{BcryptCost: 3}},
		{"a bcrypt cost above the cap is refused", Options{BcryptCost: 17}},
		{"a negative max in flight is refused", Options{MaxInFlight: -1}},
		{"a negative max wait is refused", Options{MaxWait: -time.Second}},
		{"argon2id with zero passes is refused",
			Options{Argon2: Argon2Params{Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}}},
		{"argon2id with zero threads is refused",
			Options{Argon2: Argon2Params{Memory: 64, Time: 1, SaltLen: 16, KeyLen: 32}}},
		{"argon2id with memory over the cap is refused",
			Options{Argon2: Argon2Params{Memory: 1 << 20, Time: 1, Threads: 1, SaltLen: 16,
				KeyLen: 32}}},
		{"argon2id with an 8-byte salt for new hashes is refused",
			Options{Argon2: Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8,
				KeyLen: 32}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if h, err := NewHasher(tt.o); err == nil {
				t.Errorf("NewHasher(%+v) = %v, nil; want an error", tt.o, h)
			}
		})
	}
}

func TestNewHasherAppliesDefaults(t *testing.T) {
	t.Parallel()
	h, err := NewHasher(Options{})
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	if got, want := h.Algorithm(), Argon2id; got != want {
		t.Errorf("algorithm = %q, want %q", got, want)
	}
	if got, want := h.bcryptCost, 12; got != want {
		t.Errorf("bcrypt cost = %d, want %d", got, want)
	}
	if got, want := h.argon2, DefaultArgon2Params(); got != want {
		t.Errorf("argon2 params = %+v, want %+v", got, want)
	}
	if got, want := cap(h.slots), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("slots = %d, want %d", got, want)
	}
	if got, want := h.maxWait, 2*time.Second; got != want {
		t.Errorf("max wait = %s, want %s", got, want)
	}
	if got := h.MaxBytes(); got != 0 {
		t.Errorf("MaxBytes = %d, want 0 for argon2id", got)
	}
}

func TestHashAndVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		algorithm string
		prefix    string
		plain     string
	}{
		{"argon2id verifies an ASCII password", Argon2id, "$argon2id$v=19$m=64,t=1,p=1$",
			"Correct-Horse-9!"},
		{"argon2id verifies a non-ASCII password", Argon2id, "$argon2id$", "Pässwört-日本-1!"},
		{"argon2id verifies a long password", Argon2id, "$argon2id$", strings.Repeat("ab", 300)},
		{"bcrypt verifies an ASCII password", Bcrypt, "$2a$04$", "Correct-Horse-9!"},
		{"bcrypt verifies a non-ASCII password", Bcrypt, "$2a$04$", "Pässwört-日本-1!"},
		{"bcrypt verifies a 72-byte password", Bcrypt, "$2a$04$", strings.Repeat("x", 72)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			h := newTestHasher(t, Options{Algorithm: tt.algorithm})
			encoded := mustHash(t, h, tt.plain)
			if !strings.HasPrefix(encoded, tt.prefix) {
				t.Errorf("Hash = %q, want prefix %q", encoded, tt.prefix)
			}

			ok, rehash, err := h.Verify(ctx, encoded, tt.plain)
			if err != nil || !ok || rehash {
				t.Errorf("Verify(right password) = %v, %v, %v; want true, false, nil",
					ok, rehash, err)
			}
			ok, rehash, err = h.Verify(ctx, encoded, tt.plain+"x")
			if err != nil || ok || rehash {
				t.Errorf("Verify(wrong password) = %v, %v, %v; want false, false, nil",
					ok, rehash, err)
			}
			ok, _, err = h.Verify(ctx, encoded, "")
			if err != nil || ok {
				t.Errorf("Verify(empty password) = %v, %v; want false, nil", ok, err)
			}
			if got := h.InFlight(); got != 0 {
				t.Errorf("InFlight after calls = %d, want 0", got)
			}
		})
	}
}

func TestHashWithRealArgon2idParameters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := NewHasher(Options{})
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	encoded := mustHash(t, h, "Tr0ub4dor&3")

	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(encoded, prefix) {
		t.Fatalf("Hash = %q, want prefix %q", encoded, prefix)
	}
	fields := strings.Split(encoded, "$")
	if got, want := len(fields[4]), 22; got != want {
		t.Errorf("salt is %d base64 characters, want %d (16 bytes)", got, want)
	}
	if got, want := len(fields[5]), 43; got != want {
		t.Errorf("key is %d base64 characters, want %d (32 bytes)", got, want)
	}

	ok, rehash, err := h.Verify(ctx, encoded, "Tr0ub4dor&3")
	if err != nil || !ok || rehash {
		t.Errorf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, _, err = h.Verify(ctx, encoded, "Tr0ub4dor&4")
	if err != nil || ok {
		t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
	}
}

func TestHashIsSalted(t *testing.T) {
	t.Parallel()
	for _, algorithm := range []string{Argon2id, Bcrypt} {
		t.Run(algorithm+" gives two hashes of one password different salts", func(t *testing.T) {
			t.Parallel()
			h := newTestHasher(t, Options{Algorithm: algorithm})
			a, b := mustHash(t, h, "Same-Password-1"), mustHash(t, h, "Same-Password-1")
			if a == b {
				t.Errorf("two hashes are both %q, want different", a)
			}
		})
	}
}

func TestVerifyReportsRehash(t *testing.T) {
	t.Parallel()
	const plain = "Rehash-Me-42!"
	stronger := cheapArgon2
	stronger.Memory, stronger.Time = 128, 2

	tests := []struct {
		name   string
		made   Options
		now    Options
		rehash bool
	}{
		{"same argon2id parameters need no rehash",
			Options{Argon2: cheapArgon2}, Options{Argon2: cheapArgon2}, false},
		{"stronger argon2id parameters need no rehash",
			Options{Argon2: stronger}, Options{Argon2: cheapArgon2}, false},
		{"less argon2id memory needs a rehash",
			Options{Argon2: cheapArgon2}, Options{Argon2: withMemory(cheapArgon2, 128)}, true},
		{"fewer argon2id passes need a rehash",
			Options{Argon2: cheapArgon2}, Options{Argon2: withTime(cheapArgon2, 2)}, true},
		{"a shorter argon2id key needs a rehash",
			Options{Argon2: withKeyLen(cheapArgon2, 16)}, Options{Argon2: cheapArgon2}, true},
		{"a bcrypt hash needs a rehash when argon2id is configured",
			Options{Algorithm: Bcrypt}, Options{Algorithm: Argon2id}, true},
		{"an argon2id hash needs a rehash when bcrypt is configured",
			Options{Algorithm: Argon2id}, Options{Algorithm: Bcrypt}, true},
		{"a lower bcrypt cost needs a rehash",
			Options{Algorithm: Bcrypt, BcryptCost: 4}, Options{Algorithm: Bcrypt, BcryptCost: 5},
			true},
		{"the same bcrypt cost needs no rehash",
			Options{Algorithm: Bcrypt, BcryptCost: 5}, Options{Algorithm: Bcrypt, BcryptCost: 5},
			false},
		{"a higher bcrypt cost needs no rehash",
			Options{Algorithm: Bcrypt, BcryptCost: 5}, Options{Algorithm: Bcrypt, BcryptCost: 4},
			false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			encoded := mustHash(t, newTestHasher(t, tt.made), plain)
			h := newTestHasher(t, tt.now)

			ok, rehash, err := h.Verify(context.Background(), encoded, plain)
			if err != nil || !ok {
				t.Fatalf("Verify = %v, %v; want true, nil", ok, err)
			}
			if rehash != tt.rehash {
				t.Errorf("rehash = %v, want %v", rehash, tt.rehash)
			}

			_, rehash, _ = h.Verify(context.Background(), encoded, plain+"!")
			if rehash {
				t.Error("rehash = true for a wrong password, want false")
			}
		})
	}
}

func withMemory(p Argon2Params, m uint32) Argon2Params { p.Memory = m; return p }
func withTime(p Argon2Params, n uint32) Argon2Params   { p.Time = n; return p }
func withKeyLen(p Argon2Params, n uint32) Argon2Params { p.KeyLen = n; return p }

func TestVerifyAcceptsBcryptHashesFromOtherSystems(t *testing.T) {
	t.Parallel()
	const plain = "From-Elsewhere-7!"
	made, err := bcrypt.GenerateFromPassword([]byte(plain), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("bcrypt: %v", err)
	}
	base := string(made)
	if !strings.HasPrefix(base, "$2a$") {
		t.Fatalf("bcrypt made %q, want a $2a$ hash", base)
	}

	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		t.Run(prefix+" hashes verify and are rehashed under argon2id", func(t *testing.T) {
			t.Parallel()
			h := newTestHasher(t, Options{})
			encoded := prefix + base[4:]

			ok, rehash, err := h.Verify(context.Background(), encoded, plain)
			if err != nil || !ok || !rehash {
				t.Errorf("Verify(%q) = %v, %v, %v; want true, true, nil", encoded, ok, rehash, err)
			}
			ok, _, err = h.Verify(context.Background(), encoded, "from-elsewhere-7!")
			if err != nil || ok {
				t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
			}
		})
	}

	t.Run("$2x$ hashes from the buggy variant are refused", func(t *testing.T) {
		t.Parallel()
		h := newTestHasher(t, Options{})
		ok, _, err := h.Verify(context.Background(), "$2x$"+base[4:], plain)
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify = %v, %v; want false, ErrMalformedHash", ok, err)
		}
	})
}

func TestBcryptNeverTruncates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newTestHasher(t, Options{Algorithm: Bcrypt})
	if got, want := h.MaxBytes(), 72; got != want {
		t.Errorf("MaxBytes = %d, want %d", got, want)
	}

	t.Run("hashing 73 bytes is refused with ErrTooLong", func(t *testing.T) {
		t.Parallel()
		_, err := h.Hash(ctx, strings.Repeat("a", 73))
		if !errors.Is(err, ErrTooLong) {
			t.Errorf("Hash = %v, want ErrTooLong", err)
		}
	})

	t.Run("hashing 25 three-byte characters (75 bytes) is refused", func(t *testing.T) {
		t.Parallel()
		_, err := h.Hash(ctx, strings.Repeat("€", 25))
		if !errors.Is(err, ErrTooLong) {
			t.Errorf("Hash = %v, want ErrTooLong", err)
		}
	})

	t.Run("a password extending a 72-byte one does not match it", func(t *testing.T) {
		t.Parallel()
		base := strings.Repeat("k", 72)
		encoded := mustHash(t, h, base)
		for _, plain := range []string{base + "x", base + strings.Repeat("k", 100)} {
			ok, rehash, err := h.Verify(ctx, encoded, plain)
			if ok || rehash || err != nil {
				t.Errorf("Verify(%d bytes) = %v, %v, %v; want false, false, nil",
					len(plain), ok, rehash, err)
			}
		}
	})

	t.Run("argon2id hashes passwords over 72 bytes in full", func(t *testing.T) {
		t.Parallel()
		a := newTestHasher(t, Options{Algorithm: Argon2id})
		base := strings.Repeat("k", 72)
		encoded := mustHash(t, a, base+"tail")
		ok, _, err := a.Verify(ctx, encoded, base+"tale")
		if ok || err != nil {
			t.Errorf("Verify(same first 72 bytes) = %v, %v; want false, nil", ok, err)
		}
	})
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	t.Parallel()
	const (
		salt = "c29tZXNhbHRzb21lc2FsdA"                      // 16 bytes
		key  = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" // 32 bytes
		bc   = "$2a$04$abcdefghijklmnopqrstuu" + "abcdefghijklmnopqrstuvwxyz01234"
	)
	tests := []struct {
		name    string
		encoded string
	}{
		{"an empty string", ""},
		{"a plain password", "hunter2"},
		{"an unknown algorithm", "$scrypt$ln=16,r=8,p=1$" + salt + "$" + key},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2id without a version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2id version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2id with memory at uint32 max", "$argon2id$v=19$m=4294967295,t=1,p=1$" +
			salt + "$" + key},
		{"argon2id with memory past uint32", "$argon2id$v=19$m=4294967296,t=1,p=1$" +
			salt + "$" + key},
		{"argon2id with 1 GiB of memory", "$argon2id$v=19$m=1048576,t=1,p=1$" + salt + "$" + key},
		{"argon2id with memory below 8 KiB per thread", "$argon2id$v=19$m=7,t=1,p=1$" +
			salt + "$" + key},
		{"argon2id with negative memory", "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key},
		{"argon2id with a plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key},
		{"argon2id with zero passes", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"argon2id with a million passes", "$argon2id$v=19$m=64,t=1000000,p=1$" + salt + "$" + key},
		{"argon2id with zero threads", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"argon2id with 255 threads", "$argon2id$v=19$m=4096,t=1,p=255$" + salt + "$" + key},
		{"argon2id with 256 threads", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key},
		{"argon2id with parameters out of order", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"argon2id with an extra parameter", "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + key},
		{"argon2id with a missing parameter", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"argon2id with an empty parameter", "$argon2id$v=19$m=,t=1,p=1$" + salt + "$" + key},
		{"argon2id with spaces", "$argon2id$v=19$m= 64,t=1,p=1$" + salt + "$" + key},
		{"argon2id with a bad salt encoding", "$argon2id$v=19$m=64,t=1,p=1$sa!t$" + key},
		{"argon2id with a padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"argon2id with a bad key encoding", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$k*y"},
		{"argon2id with a 4-byte salt", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key},
		{"argon2id with an empty key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$"},
		{"argon2id with an 8-byte key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAECAwQFBgc"},
		{"argon2id with a 96-byte key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" +
			strings.Repeat("A", 128)},
		{"argon2id with a missing field", "$argon2id$v=19$m=64,t=1,p=1$" + key},
		{"argon2id with an extra field", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$x"},
		{"argon2id of a megabyte", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" +
			strings.Repeat("A", 1<<20)},
		{"bcrypt cost 31", "$2a$31" + bc[6:]},
		{"bcrypt cost 99", "$2a$99" + bc[6:]},
		{"bcrypt cost 3", "$2a$03" + bc[6:]},
		{"bcrypt cost with a letter", "$2a$1x" + bc[6:]},
		{"bcrypt without a minor version", "$2$04$" + bc[6:]},
		{"bcrypt $2x$", "$2x$" + bc[4:]},
		{"bcrypt $3a$", "$3a$" + bc[4:]},
		{"bcrypt one character short", bc[:59]},
		{"bcrypt one character long", bc + "a"},
		{"bcrypt with a character outside its alphabet", bc[:40] + "+" + bc[41:]},
		{"bcrypt with a missing separator", bc[:6] + "a" + bc[7:]},
	}
	h := newTestHasher(t, Options{MaxWait: time.Nanosecond})
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(context.Background(), tt.encoded, "password")
			if ok || rehash || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify = %v, %v, %v; want false, false, ErrMalformedHash",
					ok, rehash, err)
			}
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	t.Parallel()
	for _, algorithm := range []string{Argon2id, Bcrypt} {
		t.Run(algorithm+" dummy verification succeeds and frees its slot", func(t *testing.T) {
			t.Parallel()
			h := newTestHasher(t, Options{Algorithm: algorithm, MaxInFlight: 1})
			for range 2 {
				if err := h.VerifyDummy(context.Background(), "any-Password-1"); err != nil {
					t.Fatalf("VerifyDummy: %v", err)
				}
			}
			if got := h.InFlight(); got != 0 {
				t.Errorf("InFlight = %d, want 0", got)
			}
			if h.dummy == nil {
				t.Fatal("no dummy hash was made")
			}
			if _, ok := h.dummy.(*argon2idHash); ok != (algorithm == Argon2id) {
				t.Errorf("dummy hash is %T, want one of the %s algorithm", h.dummy, algorithm)
			}
			if h.dummy.outdated(h) {
				t.Error("dummy hash uses other parameters than the configured ones")
			}
		})
	}
}

func TestBusyWhenAllSlotsAreHeld(t *testing.T) {
	t.Parallel()
	h := newTestHasher(t, Options{MaxInFlight: 2, MaxWait: 5 * time.Millisecond})
	encoded := mustHash(t, h, "Busy-Password-1")
	for range 2 {
		if err := h.acquire(context.Background()); err != nil {
			t.Fatalf("acquire: %v", err)
		}
	}
	if got, want := h.InFlight(), 2; got != want {
		t.Errorf("InFlight = %d, want %d", got, want)
	}

	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Hash", func(ctx context.Context) error {
			_, err := h.Hash(ctx, "Busy-Password-1")
			return err
		}},
		{"Verify", func(ctx context.Context) error {
			_, _, err := h.Verify(ctx, encoded, "Busy-Password-1")
			return err
		}},
		{"VerifyDummy", func(ctx context.Context) error {
			return h.VerifyDummy(ctx, "Busy-Password-1")
		}},
	}
	for _, c := range calls {
		if err := c.call(context.Background()); !errors.Is(err, ErrBusy) {
			t.Errorf("%s with every slot held = %v, want ErrBusy", c.name, err)
		}
	}

	h.release()
	if err := calls[1].call(context.Background()); err != nil {
		t.Errorf("Verify after a slot was freed = %v, want nil", err)
	}
	h.release()
	if got := h.InFlight(); got != 0 {
		t.Errorf("InFlight = %d, want 0", got)
	}
}

func TestBusyWhenContextEnds(t *testing.T) {
	t.Parallel()

	t.Run("a cancelled context gets ErrBusy even with free slots", func(t *testing.T) {
		t.Parallel()
		h := newTestHasher(t, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := h.Hash(ctx, "Cancelled-1!")
		if !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
			t.Errorf("Hash = %v, want ErrBusy wrapping context.Canceled", err)
		}
	})

	t.Run("a deadline shorter than the wait ends the wait", func(t *testing.T) {
		t.Parallel()
		h := newTestHasher(t, Options{MaxInFlight: 1, MaxWait: time.Hour})
		if err := h.acquire(context.Background()); err != nil {
			t.Fatalf("acquire: %v", err)
		}
		defer h.release()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		_, err := h.Hash(ctx, "Deadline-1!")
		if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Hash = %v, want ErrBusy wrapping context.DeadlineExceeded", err)
		}
	})
}

func TestWaitingCallerGetsAFreedSlot(t *testing.T) {
	t.Parallel()
	h := newTestHasher(t, Options{MaxInFlight: 1, MaxWait: time.Minute})
	if err := h.acquire(context.Background()); err != nil {
		t.Fatalf("acquire: %v", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "Queued-Password-1")
		done <- err
	}()
	h.release()
	if err := <-done; err != nil {
		t.Errorf("Hash queued behind a held slot = %v, want nil", err)
	}
}

func FuzzVerifyEncoded(f *testing.F) {
	h := newTestHasher(f, Options{MaxWait: time.Minute})
	b := newTestHasher(f, Options{Algorithm: Bcrypt, MaxWait: time.Minute})
	f.Add(mustHash(f, h, "Fuzz-Seed-1!"), "Fuzz-Seed-1!")
	f.Add(mustHash(f, b, "Fuzz-Seed-1!"), "Fuzz-Seed-1!")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$c29tZWtleXNvbWVrZXk", "x")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$$", "")
	f.Add("$2y$04$......................0123456789012345678901234567890", "y")
	f.Add("$2b$31$", "")
	f.Add("$", "")
	f.Add("$$$$$$", "")

	f.Fuzz(func(t *testing.T, encoded, plain string) {
		ok, rehash, err := h.Verify(context.Background(), encoded, plain)
		if err != nil && (ok || rehash) {
			t.Errorf("Verify = %v, %v, %v; want false, false with an error", ok, rehash, err)
		}
		if err != nil && !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify error = %v, want ErrMalformedHash", err)
		}
		if got := h.InFlight(); got != 0 {
			t.Errorf("InFlight = %d after Verify, want 0", got)
		}
	})
}

func BenchmarkHashArgon2id(b *testing.B) {
	h, err := NewHasher(Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "Bench-Password-1!"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyArgon2id(b *testing.B) {
	h, err := NewHasher(Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	encoded := mustHash(b, h, "Bench-Password-1!")
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, encoded, "Bench-Password-1!"); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}

func BenchmarkHashBcrypt(b *testing.B) {
	h, err := NewHasher(Options{Algorithm: Bcrypt})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "Bench-Password-1!"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyBcrypt(b *testing.B) {
	h, err := NewHasher(Options{Algorithm: Bcrypt})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	encoded := mustHash(b, h, "Bench-Password-1!")
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, encoded, "Bench-Password-1!"); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}

func TestTheWorkingSetCountsEverySlotOfArgon2idOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    Options
		want int64
	}{
		{"argon2id with three slots", Options{Algorithm: Argon2id, MaxInFlight: 3},
			3 * int64(cheapArgon2.Memory) * 1024},
		{"argon2id with its own memory", Options{Algorithm: Argon2id, MaxInFlight: 2,
			Argon2: Argon2Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
			2 * 8192 * 1024},
		{"bcrypt", Options{Algorithm: Bcrypt, MaxInFlight: 4}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := newTestHasher(t, tc.o).WorkingSet(); got != tc.want {
				t.Errorf("WorkingSet() = %d, want %d", got, tc.want)
			}
		})
	}
}
