package link

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
)

// pageData is what a page says to the person in the browser; {provider}
// in its texts becomes the provider's name.
type pageData struct {
	Title   string
	Message string
	// Next says what to do now.
	Next string
	// Missing lists scopes that were not granted.
	Missing []string
	// Back, when set, is a link back to the app.
	Back string
	OK   bool
}

var (
	pageInternal = pageData{Title: "Something went wrong",
		Message: "The server could not handle this request.",
		Next:    "Please try again in a moment. If it keeps happening, tell the app's support."}
	pageBadLink = pageData{Title: "This link is not valid",
		Message: "The connection link is incomplete or was changed.",
		Next:    "Go back to the app and start connecting your {provider} account again."}
	pageLinkExpired = pageData{Title: "This link has expired",
		Message: "Connection links work for a limited time.",
		Next:    "Go back to the app and start connecting your {provider} account again."}
	pageNoClient = pageData{Title: "This app is no longer registered",
		Message: "The app that sent you here cannot connect accounts any more.",
		Next:    "Contact the app's support."}
	pageNoState = pageData{Title: "Nothing to complete",
		Message: "This page is where {provider} sends you back after you allow access, but this request did not come from {provider}.",
		Next:    "Go back to the app and start connecting your {provider} account again."}
	pageStateUsed = pageData{Title: "This authorization was already used",
		Message: "Each authorization can be completed once. This one was already completed, or is unknown.",
		Next:    "If your {provider} account is not connected yet, go back to the app and start again."}
	pageOtherBrowser = pageData{Title: "Please finish in the same browser",
		Message: "This authorization was started in another browser, or your browser did not keep its cookie.",
		Next:    "Go back to the app and start again, and finish in the browser that opens."}
	pageStateExpired = pageData{Title: "This took too long",
		Message: "The authorization expired before {provider} sent you back.",
		Next:    "Go back to the app and start connecting your {provider} account again."}
	pageDenied = pageData{Title: "Your {provider} account was not connected",
		Message: "You chose not to allow access at {provider}, so no data will be shared.",
		Next:    "If that was a mistake, go back to the app and start again."}
	pageOAuthError = pageData{Title: "{provider} could not authorize the connection",
		Message: "{provider} reported a problem with this authorization.",
		Next:    "Go back to the app and try again in a moment."}
	pageExchange = pageData{Title: "{provider} could not complete the connection",
		Message: "{provider} did not confirm the authorization.",
		Next:    "Go back to the app and try again in a moment."}
	pageScope = pageData{Title: "Some access was not allowed",
		Message: "The app needs access to this {provider} data, which was not allowed:",
		Next:    "Go back to the app, start again, and leave these boxes ticked on {provider}'s page."}
	pageLinkFailed = pageData{Title: "The connection could not be completed",
		Message: "Your {provider} account could not be read right now. Nothing was connected.",
		Next:    "Go back to the app and try again in a few minutes."}
	pageLinked = pageData{OK: true, Title: "Your {provider} account is connected",
		Message: "Your data will start arriving in the app shortly.",
		Next:    "You can close this page and return to the app."}
)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#1a1a1a;line-height:1.5}
h1{font-size:1.5em}.ok{color:#0b6b2f}.err{color:#9b1c1c}a{color:#0b4f9c}
</style></head>
<body><main>
<h1 class="{{if .OK}}ok{{else}}err{{end}}">{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Missing}}<ul>{{range .Missing}}<li><code>{{.}}</code></li>{{end}}</ul>{{end}}
<p>{{.Next}}</p>
{{if .Back}}<p><a href="{{.Back}}">Return to the app</a></p>{{end}}
</main></body></html>
`))

func (s *Service) page(w http.ResponseWriter, status int, p pageData) {
	name := strings.NewReplacer("{provider}", s.cfg.Name)
	p.Title, p.Message, p.Next = name.Replace(p.Title), name.Replace(p.Message), name.Replace(p.Next)
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, p); err != nil {
		http.Error(w, p.Title, status)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
