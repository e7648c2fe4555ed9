package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pinbridge/pinbridge-auth/internal/testsmtp"
)

var testMessage = Message{ID: "m1", To: "to@example.com", Subject: "Hello", Text: "text", HTML: "<p>html</p>"}

// sendAsync runs Send and fails the test when it has not returned within limit: the bound is the
// promise under test (a hung server cannot hold Send), not a measure of speed.
func sendAsync(t *testing.T, ctx context.Context, s *SMTP, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, testMessage) }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Send to a hung server still waiting after %v", limit)
		return nil
	}
}

func TestSMTPStepDeadline(t *testing.T) {
	hung := testsmtp.StartHung(t)
	s, err := NewSMTP(hung.URL, "PinBridge <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	s.step = 200 * time.Millisecond // the greeting never comes: the first read's deadline ends it
	err = sendAsync(t, context.Background(), s, 10*time.Second)
	var netErr net.Error
	if err == nil || !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("Send to a server that never greets = %v, want a timeout", err)
	}
}

func TestSMTPAbandonedWhenContextEnds(t *testing.T) {
	hung := testsmtp.StartHung(t)
	s, err := NewSMTP(hung.URL, "PinBridge <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, testMessage) }()
	hung.WaitAccepted(t, 10*time.Second) // connected, waiting for the greeting (for up to 15 s)
	cancel(errors.New("shutting down"))
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "abandoned") || !strings.Contains(err.Error(), "shutting down") {
			t.Errorf("Send cut short = %v, want an error saying the attempt was abandoned and why", err)
		}
	case <-time.After(SMTPStepTimeout / 2):
		t.Fatalf("Send still waiting %v after its context ended", SMTPStepTimeout/2)
	}
}

// TestSMTPSImplicitTLSWithPlainAuth: on smtps:// the TLS handshake is made on the connection the
// transport dials (so its deadlines cover it), and authentication still sees an encrypted
// connection: a server offering only PLAIN, which is refused over plain text, takes the message.
func TestSMTPSImplicitTLSWithPlainAuth(t *testing.T) {
	cert, roots := selfSigned(t)
	got := make(chan string, 1)
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &plainSession{got: got}, nil }))
	srv.Domain = "localhost"
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	s, err := NewSMTP("smtps://user:secret@"+l.Addr().String(), "PinBridge <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	s.tls.RootCAs = roots
	if err := sendAsync(t, context.Background(), s, 30*time.Second); err != nil {
		t.Fatalf("Send over smtps with PLAIN: %v", err)
	}
	if user := <-got; user != "user" {
		t.Errorf("message received from %q, want the authenticated user", user)
	}
}

type plainSession struct {
	got  chan string
	user string
}

func (s *plainSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *plainSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != "user" || password != "secret" {
			return errors.New("bad credentials")
		}
		s.user = username
		return nil
	}), nil
}
func (s *plainSession) Mail(string, *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *plainSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *plainSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	s.got <- s.user
	return err
}
func (s *plainSession) Reset()        {}
func (s *plainSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}
