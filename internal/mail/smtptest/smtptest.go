// Package smtptest runs a real SMTP server on a loopback port for tests,
// and reads the messages it receives, so that a test can follow a mailed
// link exactly as a person would.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options shape the server.
type Options struct {
	// STARTTLS offers STARTTLS on a plain connection (for smtp:// URLs).
	STARTTLS bool
	// ImplicitTLS speaks TLS from the first byte (for smtps:// URLs).
	ImplicitTLS bool
	// Username and Password, when set, are required with AUTH PLAIN, which
	// the server offers only over TLS.
	Username, Password string
	// InsecureAuth offers AUTH PLAIN on a plain connection too, as a
	// careless or hostile server would, so that a test can check that the
	// client keeps its password to itself anyway.
	InsecureAuth bool
	// FailFirst answers the first FailFirst DATA commands with FailCode
	// instead of accepting the message.
	FailFirst int
	FailCode  int
}

// Delivery is one message the server accepted.
type Delivery struct {
	From string
	To   []string
	Data []byte
	// TLS reports whether the message travelled over an encrypted
	// connection; User is who authenticated, if anyone did.
	TLS  bool
	User string
}

// Server is a running SMTP server.
type Server struct {
	// URL is smtp://127.0.0.1:port or smtps://…, with the credentials of
	// Options when there are some.
	URL string
	// Addr is the listen address, host:port.
	Addr string
	// ClientTLS trusts the server's self-signed certificate.
	ClientTLS *tls.Config

	opts       Options
	deliveries chan Delivery

	mu    sync.Mutex
	data  int // DATA commands seen
	auths int // AUTH commands seen
}

// Start runs a server on 127.0.0.1 until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{opts: o, deliveries: make(chan Delivery, 64)}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = quietLog{}
	srv.AllowInsecureAuth = o.InsecureAuth

	scheme := "smtp"
	if o.STARTTLS || o.ImplicitTLS {
		serverTLS, clientTLS := certificates(t)
		s.ClientTLS = clientTLS
		if o.ImplicitTLS {
			ln = tls.NewListener(ln, serverTLS)
			scheme = "smtps"
		} else {
			srv.TLSConfig = serverTLS
		}
	}
	s.Addr = ln.Addr().String()
	u := scheme + "://"
	if o.Username != "" {
		u += o.Username + ":" + o.Password + "@"
	}
	s.URL = u + s.Addr

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

// Next waits up to timeout for the next message the server accepts.
func (s *Server) Next(t testing.TB, timeout time.Duration) Delivery {
	t.Helper()
	select {
	case d := <-s.deliveries:
		return d
	case <-time.After(timeout):
		t.Fatalf("smtptest: no message within %s", timeout)
		return Delivery{}
	}
}

// None checks that no message arrives within wait.
func (s *Server) None(t testing.TB, wait time.Duration) {
	t.Helper()
	select {
	case d := <-s.deliveries:
		t.Fatalf("smtptest: unexpected message to %v", d.To)
	case <-time.After(wait):
	}
}

// DataCommands is the number of DATA commands the server has seen,
// refused ones included.
func (s *Server) DataCommands() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// AuthCommands is the number of AUTH commands the server has seen, failed
// ones included.
func (s *Server) AuthCommands() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	ss.s.mu.Lock()
	ss.s.auths++
	ss.s.mu.Unlock()
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.data++
	n := ss.s.data
	ss.s.mu.Unlock()
	if n <= ss.s.opts.FailFirst {
		return &smtp.SMTPError{Code: ss.s.opts.FailCode, Message: "Refused by the test"}
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.deliveries <- Delivery{From: ss.from, To: ss.to, Data: b, TLS: isTLS, User: ss.user}
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}

// certificates makes a self-signed certificate for 127.0.0.1 and
// localhost, and a client configuration that trusts it.
func certificates(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtptest: key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smtptest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
	return server, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// Message is a received mail, decoded.
type Message struct {
	Header mail.Header
	// Subject is the decoded Subject header.
	Subject string
	// Text and HTML are the decoded bodies.
	Text, HTML string
}

// Parse decodes the delivery's MIME message: headers, and the plain-text
// and HTML bodies of a multipart/alternative or single-part message.
func (d Delivery) Parse(t testing.TB) Message {
	t.Helper()
	m, err := Parse(d.Data)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	return m
}

// Parse decodes a MIME message as Delivery.Parse does.
func Parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	out := Message{Header: msg.Header}
	out.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Message{}, err
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return Message{}, err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		body, err := decodeBody(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		if err != nil {
			return Message{}, err
		}
		out.setBody(mt, body)
		return out, nil
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return Message{}, err
		}
		// NextPart already undoes quoted-printable; base64 is left to us.
		body, err := decodeBody(p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil {
			return Message{}, err
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out.setBody(pt, body)
	}
}

func (m *Message) setBody(mediaType, body string) {
	switch mediaType {
	case "text/plain":
		m.Text = body
	case "text/html":
		m.HTML = body
	}
}

func decodeBody(encoding string, r io.Reader) (string, error) {
	switch strings.ToLower(encoding) {
	case "base64":
		// The decoder skips the CRLF line breaks of a MIME body.
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}
