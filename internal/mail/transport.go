// Package mail renders PinBridge's emails and delivers the transactional outbox: a background
// sender claims due messages from the store and hands them to a transport (SMTP, or .eml files in
// development), retrying with exponential backoff until the transport takes them.
package mail

import (
	"context"
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

// SMTP sends through an SMTP server.
type SMTP struct {
	from string
	opts []gomail.Option
	host string
}

// NewSMTP configures delivery from a URL: smtp://user:pass@host:port uses STARTTLS when the server
// offers it (port 587 by default); smtps://... uses implicit TLS (port 465 by default).
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return nil, errors.New("smtp url: not a valid smtp:// or smtps:// URL")
	}
	opts := []gomail.Option{gomail.WithTimeout(15 * time.Second)}
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
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "smtps":
		if port == 0 {
			port = 465
		}
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, errors.New("smtp url: scheme must be smtp or smtps")
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return &SMTP{from: from, opts: opts, host: u.Hostname()}, nil
}

// Send delivers m over one SMTP session.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(s.from, m)
	if err != nil {
		return err
	}
	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) {
			return fmt.Errorf("smtp unreachable: %w", err)
		}
		return fmt.Errorf("smtp send: %w", err)
	}
	return nil
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
