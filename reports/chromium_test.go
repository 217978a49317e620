package reports

import (
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium returns a headless Chromium to open reports in, or skips the
// test when there is none; with PAYDRILL_REQUIRE_CHROMIUM=1 (as CI sets)
// its absence is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("PAYDRILL_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("PAYDRILL_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install -y chromium)")
	}
	t.Skip("no chromium on PATH: report.html is not checked in a browser (apt-get install -y chromium; PAYDRILL_REQUIRE_CHROMIUM=1 makes this a failure)")
	return ""
}

// headless runs Chromium on the page with args and returns its stdout.
func headless(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, "file://"+page)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, stderr.String())
	}
	return out
}

func TestChromiumDrawsTheReport(t *testing.T) {
	bin := chromium(t)
	dir, r := synthRun(t)
	render(t, dir, r)
	page := filepath.Join(dir, "report.html")

	// The DOM Chromium built holds the four plots and their paths.
	dom := string(headless(t, bin, page, "--dump-dom"))
	if n := strings.Count(dom, "<svg"); n != 4 {
		t.Errorf("chromium's DOM has %d <svg>, want 4", n)
	}
	if n := strings.Count(dom, "<path"); n < 100 {
		t.Errorf("chromium's DOM has %d <path>: the plots are not drawn", n)
	}
	if !strings.Contains(dom, "fault 1: down edge-&gt;router") {
		t.Error("chromium's DOM does not label the fault window")
	}

	// A screenshot is not blank: it shows the shaded fault window and the
	// plotted lines.
	shot := filepath.Join(t.TempDir(), "report.png")
	headless(t, bin, page, "--window-size=1200,2000", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	near := func(r, g, b, R, G, B uint32, tol int) bool {
		d := func(x, y uint32) int { return max(int(x)-int(y), int(y)-int(x)) }
		return d(r, R) <= tol && d(g, G) <= tol && d(b, B) <= tol
	}
	var inked, band, blue, total int
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			total++
			switch {
			case near(r, g, b, 0xf4, 0xf5, 0xf8, 3), near(r, g, b, 0xff, 0xff, 0xff, 3):
				// page or plot background
			case near(r, g, b, 246, 214, 214, 8):
				band++
				inked++
			case near(r, g, b, 0x1f, 0x6f, 0xb4, 40):
				blue++
				inked++
			default:
				inked++
			}
		}
	}
	t.Logf("screenshot %v: %d of %d pixels inked, %d in the fault band, %d blue line", bounds.Size(), inked, total, band, blue)
	if inked < total/20 {
		t.Errorf("the screenshot is nearly blank: %d of %d pixels inked", inked, total)
	}
	if band < 10000 {
		t.Errorf("%d pixels of shaded fault window: the fault band is not drawn", band)
	}
	if blue < 300 {
		t.Errorf("%d pixels of the blue series: the lines are not drawn", blue)
	}
}
