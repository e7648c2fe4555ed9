// Package testsmtp is a real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1 for tests: it
// receives messages over the wire, parses them, and hands them to the test. It can be switched to
// answer 421 (service not available) to play an SMTP outage.
package testsmtp

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received email.
type Message struct {
	From    string
	To      []string
	Subject string
	ID      string // Message-ID
	Text    string
	HTML    string
	Raw     []byte
}

var linkPattern = regexp.MustCompile(`https?://[^\s"<>]+`)

// Link returns the first link in the plain-text body.
func (m Message) Link() string { return linkPattern.FindString(m.Text) }

// Server is a running SMTP server.
type Server struct {
	URL      string // smtp://127.0.0.1:PORT
	srv      *smtp.Server
	messages chan Message
	refused  chan struct{}
	down     atomic.Bool
	mu       sync.Mutex
	all      []Message
	arrived  chan struct{} // closed, and replaced, when a message arrives (under mu)
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{messages: make(chan Message, 10000), refused: make(chan struct{}, 100), arrived: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		if s.down.Load() {
			select {
			case s.refused <- struct{}{}:
			default:
			}
			return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service not available"}
		}
		return &session{s: s}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp listen: %v", err)
	}
	s.URL = "smtp://" + l.Addr().String()
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// SetDown makes new connections get 421 (true) or be served (false).
func (s *Server) SetDown(down bool) { s.down.Store(down) }

// WaitRefused waits until a connection has been refused while down.
func (s *Server) WaitRefused(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-s.refused:
	case <-time.After(timeout):
		t.Fatalf("no delivery attempt was refused within %v", timeout)
	}
}

// Wait returns the next message, failing the test after timeout.
func (s *Server) Wait(t testing.TB, timeout time.Duration) Message {
	t.Helper()
	select {
	case m := <-s.messages:
		return m
	case <-time.After(timeout):
		t.Fatalf("no email arrived within %v", timeout)
		return Message{}
	}
}

// Await waits until the messages received so far, in order of arrival, satisfy done, and returns
// them; it fails the test when they do not after timeout. Unlike Wait and WaitFor it takes nothing
// from the queue those read.
func (s *Server) Await(t testing.TB, timeout time.Duration, done func([]Message) bool) []Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		all, arrived := append([]Message(nil), s.all...), s.arrived
		s.mu.Unlock()
		if done(all) {
			return all
		}
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("the %d emails received within %v are not the ones awaited", len(all), timeout)
			return nil
		}
	}
}

// WaitFor returns the next message to addr, failing the test after timeout. Messages to other
// addresses that arrive first are kept in All but skipped here.
func (s *Server) WaitFor(t testing.TB, addr string, timeout time.Duration) Message {
	t.Helper()
	m, ok := s.Next(addr, timeout)
	if !ok {
		t.Fatalf("no email to %s arrived within %v", addr, timeout)
	}
	return m
}

// Next returns the next message to addr, or false after timeout. Unlike WaitFor it does not fail
// the test, so it can serve other goroutines (an HTTP inbox for browser tests).
func (s *Server) Next(addr string, timeout time.Duration) (Message, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case m := <-s.messages:
			for _, to := range m.To {
				if strings.EqualFold(to, addr) {
					return m, true
				}
			}
		case <-deadline:
			return Message{}, false
		}
	}
}

// All returns every message received so far.
func (s *Server) All() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.all...)
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparseable message: " + err.Error()}
	}
	m.From, m.To = ss.from, ss.to
	ss.s.mu.Lock()
	ss.s.all = append(ss.s.all, m)
	close(ss.s.arrived)
	ss.s.arrived = make(chan struct{})
	ss.s.mu.Unlock()
	ss.s.messages <- m
	return nil
}

func parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Message{}, err
	}
	out := Message{Subject: subject, ID: msg.Header.Get("Message-Id"), Raw: raw}
	if err := walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, &out); err != nil {
		return Message{}, err
	}
	return out, nil
}

func walk(contentType, encoding string, body io.Reader, out *Message) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, out); err != nil {
				return err
			}
		}
	}
	data, err := decode(encoding, body)
	if err != nil {
		return err
	}
	switch mediaType {
	case "text/plain":
		out.Text = string(data)
	case "text/html":
		out.HTML = string(data)
	}
	return nil
}

func decode(encoding string, r io.Reader) ([]byte, error) {
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		return io.ReadAll(newQP(r))
	case "base64":
		return io.ReadAll(newB64(r))
	}
	return io.ReadAll(r)
}
