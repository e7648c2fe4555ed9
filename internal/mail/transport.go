// Package mail renders PinBridge's emails and delivers the transactional outbox: a background
// sender claims due messages from the store and hands them to a transport (SMTP, or .eml files in
// development), retrying with exponential backoff until the transport takes them.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/pinbridge/pinbridge-auth/config"
)

// Message is one email to deliver.
type Message struct {
	ID      string // the outbox id; also the Message-ID's local part, so a resend is recognisable
	To      string
	Subject string
	Text    string
	HTML    string
}

// Transport delivers a message or says why it could not.
type Transport interface {
	Send(ctx context.Context, m Message) error
}

func build(from string, m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("to address: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID + "@pinbridge")
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// SMTPStepTimeout bounds each network step of an SMTP attempt: the dial, the TLS handshake, the wait
// for each reply (the greeting included) and each write of the data phase. The attempt as a whole is
// bounded by its context (the sender gives it 30 s, and cuts it short at shutdown).
const SMTPStepTimeout = 15 * time.Second

// SMTP sends through an SMTP server.
type SMTP struct {
	from string
	opts []gomail.Option
	host string
	// tls is set for smtps://: the TLS handshake is done here, on the connection dialled here, so
	// that the deadlines cover it too.
	tls  *tls.Config
	step time.Duration
}

// NewSMTP configures delivery from a URL: smtp://user:pass@host:port uses STARTTLS when the server
// offers it (port 587 by default); smtps://... uses implicit TLS (port 465 by default).
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return nil, errors.New("smtp url: not a valid smtp:// or smtps:// URL")
	}
	s := &SMTP{from: from, host: u.Hostname(), step: SMTPStepTimeout}
	port := 0
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, errors.New("smtp url: bad port")
		}
	}
	switch u.Scheme {
	case "smtp":
		if port == 0 {
			port = 587
		}
	case "smtps":
		if port == 0 {
			port = 465
		}
		s.tls = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	default:
		return nil, errors.New("smtp url: scheme must be smtp or smtps")
	}
	// Opportunistic STARTTLS on smtp://. On smtps:// the connection is TLS already, the server offers
	// no STARTTLS, and go-mail reads the TLS state off the connection (which lets it choose PLAIN or
	// LOGIN authentication, as over any encrypted connection).
	s.opts = []gomail.Option{gomail.WithTimeout(s.step), gomail.WithPort(port), gomail.WithTLSPolicy(gomail.TLSOpportunistic)}
	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		s.opts = append(s.opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return s, nil
}

// Send delivers m over one SMTP session. Every step has a deadline (SMTPStepTimeout), and when ctx
// ends the connection is closed under whatever step is in flight, so Send returns at once with an
// error: the message counts as not delivered and is retried later. (An SMTP server takes a message
// only when it answers the end of its data, so a retry can repeat it only if the connection was cut
// between that answer being sent and its arrival; its Message-ID is the same, so it is recognisable.)
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(s.from, m)
	if err != nil {
		return err
	}
	var abort func() bool // set by dial, called here: both on this goroutine
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		raw, err := (&net.Dialer{Timeout: s.step}).DialContext(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}
		// go-mail gives ctx to the dial only; afterwards only this can interrupt it.
		abort = context.AfterFunc(ctx, func() { _ = raw.Close() })
		var conn net.Conn = &stepConn{Conn: raw, step: s.step}
		if s.tls != nil {
			tc := tls.Client(conn, s.tls.Clone())
			if err := tc.HandshakeContext(dialCtx); err != nil {
				_ = raw.Close()
				return nil, err
			}
			conn = tc
		}
		return conn, nil
	}
	client, err := gomail.NewClient(s.host, append(s.opts[:len(s.opts):len(s.opts)], gomail.WithDialContextFunc(dial))...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if abort != nil {
		abort()
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("smtp attempt abandoned (%v): %w", context.Cause(ctx), err)
		}
		var netErr net.Error
		if errors.As(err, &netErr) {
			return fmt.Errorf("smtp unreachable: %w", err)
		}
		return fmt.Errorf("smtp send: %w", err)
	}
	return nil
}

// stepConn gives every read and write of a connection its own deadline, so that no single SMTP step
// (the greeting, a reply, a write of the data phase) waits longer than step.
type stepConn struct {
	net.Conn
	step time.Duration
}

func (c *stepConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.step)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *stepConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.step)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// Dir writes each message to DIR/<id>.eml: development without an SMTP server. The log names the
// file, never the link inside it (links carry tokens).
type Dir struct {
	dir  string
	from string
	log  *slog.Logger
}

// NewDir writes messages under dir.
func NewDir(dir, from string, log *slog.Logger) *Dir { return &Dir{dir: dir, from: from, log: log} }

// Send writes m as an .eml file.
func (d *Dir) Send(_ context.Context, m Message) error {
	msg, err := build(d.from, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(d.dir, m.ID+".eml")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := msg.WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d.log.Info("development mail written (no PINBRIDGE_SMTP_URL); open the file for its link",
		slog.String("file", path), slog.String("subject", m.Subject))
	return nil
}

// NewTransport is SMTP when the configuration names a server (PINBRIDGE_SMTP_URL), else .eml files
// in the outbox directory (configuration refuses production without SMTP).
func NewTransport(cfg config.Mail, log *slog.Logger) (Transport, error) {
	if cfg.SMTPURL != "" {
		return NewSMTP(cfg.SMTPURL.Reveal(), cfg.From)
	}
	return NewDir(cfg.OutboxDir, cfg.From, log), nil
}
