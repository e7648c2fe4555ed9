package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
)

// Kinds of message.
const (
	KindPasswordReset    = "password_reset"
	KindEmailVerify      = "email_verify"
	KindEmailChange      = "email_change"
	KindEmailChangeTaken = "email_change_taken"
	KindPasswordChanged  = "password_changed"
	KindEmailChanged     = "email_changed"
	KindLoginLocked      = "login_locked"
	KindInvitation       = "invitation"
	KindEmailRestored    = "email_restored"
	KindKeyLeaked        = "key_leaked"
	KindKeyExpiring      = "key_expiring"
	KindAPIKeyCreated    = "api_key_created"
)

// Data fills a template.
type Data struct {
	Name     string // the recipient's name, may be empty
	Link     string // the action link, for kinds that have one
	NewEmail string
	Expires  string // e.g. "1 hour"
	// Organization is the name of the organization an invitation is for.
	Organization string
	KeyPrefix    string // an API key's display prefix, e.g. pb_live_AbC1
	KeyName      string
	Where        string // where a leaked key was found
	// Key is an API key's display prefix (never the key); Environment its project's (production,
	// sandbox).
	Key         string
	Environment string
}

type template struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

const htmlLayout = `<!doctype html><html><body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1a1a1a;max-width:560px;margin:24px auto;line-height:1.5">
<p style="font-weight:600;font-size:18px">PinBridge</p>
{{template "body" .}}
<p style="color:#666;font-size:13px">PinBridge · Pinterest publishing API</p></body></html>`

func tmpl(subject, text, html string) template {
	h := htmltemplate.Must(htmltemplate.New("layout").Parse(htmlLayout))
	htmltemplate.Must(h.New("body").Parse(html))
	return template{
		subject: texttemplate.Must(texttemplate.New("subject").Parse(subject)),
		text:    texttemplate.Must(texttemplate.New("text").Parse(text)), html: h,
	}
}

const button = `<p><a href="{{.Link}}" style="display:inline-block;background:#e60023;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">%s</a></p>
<p style="font-size:13px;color:#666">Or paste this link into your browser:<br>{{.Link}}</p>`

var templates = map[string]template{
	KindPasswordReset: tmpl("Reset your PinBridge password",
		"Hi{{if .Name}} {{.Name}}{{end}},\n\nSomeone asked to reset the password of your PinBridge account. To choose a new password, open this link (valid for {{.Expires}}, usable once):\n\n{{.Link}}\n\nIf it wasn't you, ignore this email: your password stays as it is.\n",
		`<p>Hi{{if .Name}} {{.Name}}{{end}},</p><p>Someone asked to reset the password of your PinBridge account. The link is valid for {{.Expires}} and works once.</p>`+fmt.Sprintf(button, "Choose a new password")+`<p>If it wasn't you, ignore this email: your password stays as it is.</p>`),
	KindEmailVerify: tmpl("Verify your email for PinBridge",
		"Hi{{if .Name}} {{.Name}}{{end}},\n\nPlease confirm this is your email address by opening this link (valid for {{.Expires}}):\n\n{{.Link}}\n\nIf you did not create a PinBridge account, do not open it: someone registered your address. Reset the password from the sign-in page instead; that takes the account back and revokes whatever they set up.\n",
		`<p>Hi{{if .Name}} {{.Name}}{{end}},</p><p>Please confirm this is your email address. The link is valid for {{.Expires}}.</p>`+fmt.Sprintf(button, "Verify my email")+`<p>If you did not create a PinBridge account, do not open it: someone registered your address. Reset the password from the sign-in page instead; that takes the account back and revokes whatever they set up.</p>`),
	KindEmailChange: tmpl("Confirm your new email for PinBridge",
		"Hi{{if .Name}} {{.Name}}{{end}},\n\nTo make {{.NewEmail}} the email of your PinBridge account, open this link (valid for {{.Expires}}):\n\n{{.Link}}\n\nIf you did not ask for this, ignore this email.\n",
		`<p>Hi{{if .Name}} {{.Name}}{{end}},</p><p>To make <strong>{{.NewEmail}}</strong> the email of your PinBridge account, confirm within {{.Expires}}.</p>`+fmt.Sprintf(button, "Confirm my new email")+`<p>If you did not ask for this, ignore this email.</p>`),
	KindEmailChangeTaken: tmpl("A PinBridge account already uses this email",
		"Hello,\n\nSomeone asked to move a PinBridge account to {{.NewEmail}}, but an account already uses this address, so nothing changed. If you forgot your password, you can reset it from the sign-in page.\n",
		`<p>Hello,</p><p>Someone asked to move a PinBridge account to <strong>{{.NewEmail}}</strong>, but an account already uses this address, so nothing changed. If you forgot your password, you can reset it from the sign-in page.</p>`),
	KindPasswordChanged: tmpl("Your PinBridge password was changed",
		"Hi{{if .Name}} {{.Name}}{{end}},\n\nThe password of your PinBridge account was just changed, and every other session was signed out. If this wasn't you, reset your password now and contact support.\n",
		`<p>Hi{{if .Name}} {{.Name}}{{end}},</p><p>The password of your PinBridge account was just changed, and every other session was signed out.</p><p>If this wasn't you, reset your password now and contact support.</p>`),
	KindEmailChanged: tmpl("Your PinBridge email was changed",
		"Hi{{if .Name}} {{.Name}}{{end}},\n\nThe email of your PinBridge account was changed{{if .NewEmail}} to {{.NewEmail}}{{end}}.{{if .Link}} If this wasn't you, open this link (valid for {{.Expires}}) to take your address back: it signs every session out and revokes the API keys and invitations created since the change.\n\n{{.Link}}\n{{else}} If this wasn't you, contact support right away.\n{{end}}",
		`<p>Hi{{if .Name}} {{.Name}}{{end}},</p><p>The email of your PinBridge account was changed{{if .NewEmail}} to <strong>{{.NewEmail}}</strong>{{end}}.</p>{{if .Link}}<p>If this wasn't you, take your address back within {{.Expires}}: it signs every session out and revokes the API keys and invitations created since the change.</p>`+fmt.Sprintf(button, "This wasn't me")+`{{else}}<p>If this wasn't you, contact support right away.</p>{{end}}`),
	KindEmailRestored: tmpl("Your PinBridge email was restored",
		"Hi{{if .Name}} {{.Name}}{{end}},\n\nThis address is again the email of your PinBridge account. Every session was signed out, the API keys created since the change was asked for were revoked, and your password no longer works: choose a new one with this link (valid for {{.Expires}}, usable once):\n\n{{.Link}}\n",
		`<p>Hi{{if .Name}} {{.Name}}{{end}},</p><p>This address is again the email of your PinBridge account. Every session was signed out, the API keys created since the change was asked for were revoked, and your password no longer works: choose a new one within {{.Expires}}.</p>`+fmt.Sprintf(button, "Choose a new password")),
	KindLoginLocked: tmpl("Sign-ins to your PinBridge account are paused",
		"Hi{{if .Name}} {{.Name}}{{end}},\n\nThere were many failed attempts to sign in to your PinBridge account from several addresses, so sign-ins are paused for 15 minutes. Your password was not changed and nobody signed in. If these attempts were not yours, choose a new, unique password after the pause (reset it from the sign-in page).\n",
		`<p>Hi{{if .Name}} {{.Name}}{{end}},</p><p>There were many failed attempts to sign in to your PinBridge account from several addresses, so sign-ins are paused for 15 minutes. Your password was not changed and nobody signed in.</p><p>If these attempts were not yours, choose a new, unique password after the pause (reset it from the sign-in page).</p>`),
	KindAPIKeyCreated: tmpl("A new API key was created for your PinBridge account",
		"Hi{{if .Name}} {{.Name}}{{end}},\n\nA new API key ({{.Key}}…) was just created for the {{.Environment}} project of your PinBridge account. If this wasn't you, revoke it in your API keys and change your password right away.\n",
		`<p>Hi{{if .Name}} {{.Name}}{{end}},</p><p>A new API key (<code>{{.Key}}…</code>) was just created for the {{.Environment}} project of your PinBridge account.</p><p>If this wasn't you, revoke it in your API keys and change your password right away.</p>`),
	KindInvitation: tmpl("You are invited to {{.Organization}} on PinBridge",
		"Hello,\n\nYou are invited to join {{.Organization}} on PinBridge, the Pinterest publishing API. To accept, open this link (valid for {{.Expires}}, usable once) and sign in or create an account with this email address:\n\n{{.Link}}\n\nIf you did not expect this, ignore this email.\n",
		`<p>Hello,</p><p>You are invited to join <strong>{{.Organization}}</strong> on PinBridge, the Pinterest publishing API. The link is valid for {{.Expires}} and works once; sign in or create an account with this email address.</p>`+fmt.Sprintf(button, "Accept the invitation")+`<p>If you did not expect this, ignore this email.</p>`),
	KindKeyLeaked: tmpl("A PinBridge API key was found in public and revoked",
		"Hi{{if .Name}} {{.Name}}{{end}},\n\nThe API key {{.KeyPrefix}}…{{if .KeyName}} ({{.KeyName}}){{end}} was found in public by secret scanning, at {{.Where}}, and has been revoked: requests with it now fail. Create a new key, put it where the old one was used, and remove the old one from where it was found.\n",
		`<p>Hi{{if .Name}} {{.Name}}{{end}},</p><p>The API key <strong>{{.KeyPrefix}}…</strong>{{if .KeyName}} ({{.KeyName}}){{end}} was found in public by secret scanning, at {{.Where}}, and has been revoked: requests with it now fail.</p><p>Create a new key, put it where the old one was used, and remove the old one from where it was found.</p>`),
	KindKeyExpiring: tmpl("A PinBridge API key expires soon",
		"Hi{{if .Name}} {{.Name}}{{end}},\n\nThe API key {{.KeyPrefix}}…{{if .KeyName}} ({{.KeyName}}){{end}} expires on {{.Expires}}. Rotate it before then (POST /v1/api-keys/{key_id}/rotate keeps the old key working while you deploy the new one).\n",
		`<p>Hi{{if .Name}} {{.Name}}{{end}},</p><p>The API key <strong>{{.KeyPrefix}}…</strong>{{if .KeyName}} ({{.KeyName}}){{end}} expires on {{.Expires}}.</p><p>Rotate it before then: the rotation keeps the old key working while you deploy the new one.</p>`),
}

// Render returns the subject, plain-text and HTML bodies of a message of kind.
func Render(kind string, d Data) (subject, text, html string, err error) {
	t, ok := templates[kind]
	if !ok {
		return "", "", "", fmt.Errorf("render: unknown message kind %q", kind)
	}
	var sb, tb, hb bytes.Buffer
	if err := t.subject.Execute(&sb, d); err != nil {
		return "", "", "", fmt.Errorf("render %s subject: %w", kind, err)
	}
	if err := t.text.Execute(&tb, d); err != nil {
		return "", "", "", fmt.Errorf("render %s text: %w", kind, err)
	}
	if err := t.html.ExecuteTemplate(&hb, "layout", d); err != nil {
		return "", "", "", fmt.Errorf("render %s html: %w", kind, err)
	}
	return sb.String(), tb.String(), hb.String(), nil
}
