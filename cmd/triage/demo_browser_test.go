package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// checkDashboardInBrowser loads the dashboard at url in headless Chromium
// and checks that the rendered page shows incident id as explained and an
// explanation that covers it. It saves a screenshot to the directory in
// TRIAGE_SCREENSHOT_DIR when that is set. It skips when Chromium is not
// installed.
func checkDashboardInBrowser(t *testing.T, url, id string) {
	t.Helper()
	browser := chromiumPath
	if _, err := os.Stat(browser); err != nil {
		p, err := exec.LookPath("chromium")
		if err != nil {
			t.Skipf("no headless browser: %s is missing and chromium is not on PATH "+
				"(apt-get install chromium)", chromiumPath)
		}
		browser = p
	}
	// The page polls once a second; the virtual time budget lets it fetch
	// and render a few times before the DOM is dumped.
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=4000"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dom, err := exec.CommandContext(ctx, browser, append(args, "--dump-dom", url)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom failed: %v", err)
	}
	q := regexp.QuoteMeta(id)
	incident := regexp.MustCompile(`class="inc incident ok" data-id="` + q + `"`)
	explanation := regexp.MustCompile(`class="exp explanation" data-incidents="[^"]*\b` + q +
		`\b[^"]*"><b>[^<]+</b>`)
	if !incident.Match(dom) {
		t.Errorf("the rendered dashboard shows no explained incident %s:\n%.3000s", id, dom)
	}
	if !explanation.Match(dom) {
		t.Errorf("the rendered dashboard shows no explanation covering %s:\n%.3000s", id, dom)
	}

	dir := os.Getenv("TRIAGE_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("unable to make the screenshot directory: %v", err)
	}
	shot := filepath.Join(dir, "dashboard.png")
	cmd := exec.CommandContext(ctx, browser, append(args, "--window-size=1400,1800",
		"--hide-scrollbars", "--screenshot="+shot, url)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot failed: %v\n%s", err, b)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("dashboard screenshot saved to %s", shot)
}
