package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider/whoop"
)

// Pages is what the browser pages showed: the connections page through
// the banner's signed link, and the dashboard as the demo client.
type Pages struct {
	// Connections is the HTTP status of the signed link; OuraConnected
	// whether the page shows Oura connected.
	Connections   int
	OuraConnected bool
	// LoginForm is the status of /dashboard without a session (401, the
	// sign-in form); SignIn that of signing in (303 to the dashboard);
	// UserPage that of UserID's dashboard page, Hypnogram whether it drew
	// the night's sleep phases.
	LoginForm, SignIn, UserPage int
	Hypnogram                   bool
	// WhoopUserPage is the status of WhoopUserID's dashboard page,
	// WhoopNight whether it showed the WHOOP connection and the newest
	// night's sleep.
	WhoopUserPage int
	WhoopNight    bool
}

// browser is a client with cookies that does not follow redirects.
type browser struct {
	c *http.Client
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(ctx context.Context, method, u string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	page, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	return res.StatusCode, string(page), err
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// hypnogram reports whether the page's hypnogram chart draws phases.
func hypnogram(page string) bool {
	i := strings.Index(page, `<svg class="chart" id="hypnogram"`)
	if i < 0 {
		return false
	}
	svg, _, _ := strings.Cut(page[i:], "</svg>")
	return strings.Contains(svg, `<rect class="phase `)
}

// checkPages opens the pages as a browser would and reports what failed.
func (d *demo) checkPages(ctx context.Context) (Pages, []string) {
	var p Pages
	var fails []string
	fail := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }

	if u, _, err := d.pageLink(); err != nil {
		fail("%v", err)
	} else {
		status, page, err := newBrowser().do(ctx, http.MethodGet, u, nil)
		p.Connections = status
		p.OuraConnected = strings.Contains(page, `id="src-oura"`) && strings.Contains(page, `data-status="connected"`)
		switch {
		case err != nil:
			fail("connections page: %v", err)
		case status != http.StatusOK:
			fail("the signed connections page link answered %d, not 200", status)
		case !p.OuraConnected:
			fail("the connections page does not show Oura connected for %s", UserID)
		}
	}

	b := newBrowser()
	status, form, err := b.do(ctx, http.MethodGet, d.api+"/dashboard", nil)
	p.LoginForm = status
	tok := csrfInput.FindStringSubmatch(form)
	switch {
	case err != nil:
		fail("dashboard: %v", err)
		return p, fails
	case status != http.StatusUnauthorized || tok == nil || !strings.Contains(form, `name="secret"`):
		fail("/dashboard without a session answered %d without the sign-in form", status)
		return p, fails
	}
	p.SignIn, _, err = b.do(ctx, http.MethodPost, d.api+"/dashboard/login",
		url.Values{"csrf_token": {tok[1]}, "client_uuid": {ClientUUID}, "secret": {ClientSecret}})
	switch {
	case err != nil:
		fail("dashboard sign-in: %v", err)
		return p, fails
	case p.SignIn != http.StatusSeeOther:
		fail("signing in to the dashboard as %s answered %d, not 303", ClientUUID, p.SignIn)
		return p, fails
	}
	status, page, err := b.do(ctx, http.MethodGet, d.api+"/dashboard/users/"+url.PathEscape(UserID), nil)
	p.UserPage, p.Hypnogram = status, hypnogram(page)
	switch {
	case err != nil:
		fail("dashboard user page: %v", err)
	case status != http.StatusOK:
		fail("the dashboard page of %s answered %d, not 200", UserID, status)
	case !p.Hypnogram:
		fail("the dashboard page of %s draws no hypnogram", UserID)
	}
	status, page, err = b.do(ctx, http.MethodGet, d.api+"/dashboard/users/"+url.PathEscape(WhoopUserID), nil)
	p.WhoopUserPage = status
	p.WhoopNight = strings.Contains(page, "<dt>"+whoop.Name+"</dt>") && !strings.Contains(page, "No sleep recorded for this night")
	switch {
	case err != nil:
		fail("dashboard user page: %v", err)
	case status != http.StatusOK:
		fail("the dashboard page of %s answered %d, not 200", WhoopUserID, status)
	case !p.WhoopNight:
		fail("the dashboard page of %s does not show its WHOOP connection and newest night", WhoopUserID)
	}
	return p, fails
}
