package capture_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/capture"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

func start(t *testing.T, path string) string {
	t.Helper()
	c := capture.DefaultConfig()
	c.Store = path
	s, err := capture.New(c)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := service.Start("127.0.0.1:0", s)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URL()
}

// post sends an order with the given request id (none when empty) and
// returns the status and raw body.
func post(t *testing.T, base, id string, body string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+wire.PathOrders, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Custom", "kept")
	if id != "" {
		req.Header.Set(wire.HeaderRequestID, id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func export(t *testing.T, base string) []wire.CapturedRequest {
	t.Helper()
	recs, err := service.Fetch[wire.CapturedRequest](context.Background(), http.DefaultClient, base+wire.PathExport)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func orderBody(ref string, cents int64) string {
	b, _ := json.Marshal(wire.Order{Reference: ref, Customer: "c1", AmountCents: cents, CardToken: "tok_1"})
	return string(b)
}

func TestAcceptedOrderAnswersLikeProductionAndIsStored(t *testing.T) {
	base := start(t, filepath.Join(t.TempDir(), "capture.sqlite"))
	body := orderBody("ref-1", 2500)
	status, raw, _ := post(t, base, "req-1", body)
	if status != http.StatusCreated {
		t.Fatalf("status %d (%s), want 201", status, raw)
	}
	// Exactly production's shape: these four keys, nothing else.
	var shape map[string]any
	if err := json.Unmarshal(raw, &shape); err != nil {
		t.Fatal(err)
	}
	if len(shape) != 4 {
		t.Fatalf("answer %s: want exactly request_id, reference, amount_cents, status", raw)
	}
	var ans wire.OrderAnswer
	json.Unmarshal(raw, &ans)
	want := wire.OrderAnswer{RequestID: "req-1", Reference: "ref-1", AmountCents: 2500, Status: "accepted"}
	if ans != want {
		t.Fatalf("answer %+v, want %+v", ans, want)
	}

	recs := export(t, base)
	if len(recs) != 1 {
		t.Fatalf("stored %d requests, want 1", len(recs))
	}
	r := recs[0]
	if r.RequestID != "req-1" || r.Method != http.MethodPost || r.Path != wire.PathOrders ||
		string(r.Body) != body || r.AmountCents != 2500 || r.Customer != "c1" || r.Reference != "ref-1" ||
		r.Status != http.StatusCreated || r.CapturedAt.IsZero() {
		t.Fatalf("stored %+v", r)
	}
	if got := http.Header(r.Header).Get("X-Custom"); got != "kept" {
		t.Fatalf("header X-Custom stored as %q", got)
	}
	if got := http.Header(r.Header).Get(wire.HeaderRequestID); got != "req-1" {
		t.Fatalf("header X-Request-Id stored as %q", got)
	}
}

func TestOverRiskLimitRefusedAndNotStored(t *testing.T) {
	base := start(t, filepath.Join(t.TempDir(), "capture.sqlite"))
	for _, cents := range []int64{10000, 25000} {
		status, raw, _ := post(t, base, fmt.Sprintf("req-%d", cents), orderBody("ref", cents))
		if status != http.StatusPaymentRequired {
			t.Fatalf("%d cents: status %d, want 402", cents, status)
		}
		var e wire.ErrorAnswer
		if json.Unmarshal(raw, &e); e.Error != wire.ErrCardFailed {
			t.Fatalf("%d cents: body %s, want card failed", cents, raw)
		}
	}
	if status, _, _ := post(t, base, "req-low", orderBody("ref", 9999)); status != http.StatusCreated {
		t.Fatalf("9999 cents: %d, want 201", status)
	}
	recs := export(t, base)
	if len(recs) != 1 || recs[0].RequestID != "req-low" {
		t.Fatalf("stored %+v, want only req-low", recs)
	}
}

func TestMalformedRefusedAndNotStored(t *testing.T) {
	base := start(t, filepath.Join(t.TempDir(), "capture.sqlite"))
	if status, _, _ := post(t, base, "req-1", `{"amount_cents": "lots"`); status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", status)
	}
	if recs := export(t, base); len(recs) != 0 {
		t.Fatalf("stored %+v", recs)
	}
}

func TestSameRequestIDStoredOnce(t *testing.T) {
	base := start(t, filepath.Join(t.TempDir(), "capture.sqlite"))
	for i := 0; i < 2; i++ {
		status, raw, _ := post(t, base, "req-1", orderBody("ref-1", 100))
		if status != http.StatusCreated {
			t.Fatalf("attempt %d: %d %s", i+1, status, raw)
		}
		var ans wire.OrderAnswer
		json.Unmarshal(raw, &ans)
		if ans.RequestID != "req-1" || ans.Reference != "ref-1" {
			t.Fatalf("attempt %d answered %+v", i+1, ans)
		}
	}
	if recs := export(t, base); len(recs) != 1 {
		t.Fatalf("stored %d, want 1", len(recs))
	}
}

func TestMissingRequestIDIsGenerated(t *testing.T) {
	base := start(t, filepath.Join(t.TempDir(), "capture.sqlite"))
	status, raw, hdr := post(t, base, "", orderBody("ref-1", 100))
	if status != http.StatusCreated {
		t.Fatalf("status %d", status)
	}
	var ans wire.OrderAnswer
	json.Unmarshal(raw, &ans)
	if ans.RequestID == "" || hdr.Get(wire.HeaderRequestID) != ans.RequestID {
		t.Fatalf("answer %+v, header %q", ans, hdr.Get(wire.HeaderRequestID))
	}
	recs := export(t, base)
	if len(recs) != 1 || recs[0].RequestID != ans.RequestID ||
		http.Header(recs[0].Header).Get(wire.HeaderRequestID) != ans.RequestID {
		t.Fatalf("stored %+v, want id %s in the record and its headers", recs, ans.RequestID)
	}
}

const childEnv = "PAYDRILL_CAPTURE_CHILD"

// TestCaptureChildProcess is the capture service run as a separate process
// by TestAcknowledgedOrdersSurviveKill; run alone it skips.
func TestCaptureChildProcess(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("only runs as the child of TestAcknowledgedOrdersSurviveKill")
	}
	c := capture.DefaultConfig()
	c.Store = path
	s, err := capture.New(c)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := service.Start("127.0.0.1:0", s)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ADDR %s\n", srv.Addr())
	select {} // until killed
}

// A record written and answered survives the process dying without a
// graceful close.
func TestAcknowledgedOrdersSurviveKill(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	path := filepath.Join(t.TempDir(), "capture.sqlite")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCaptureChildProcess$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
				addrc <- a
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case <-time.After(20 * time.Second):
		t.Fatal("the child never printed its address")
	}

	var acked []string
	for i := 0; i < 25; i++ {
		id := fmt.Sprintf("req-%02d", i)
		status, raw, _ := post(t, base, id, orderBody("ref-"+id, int64(100+i)))
		if status != http.StatusCreated {
			t.Fatalf("%s: %d %s", id, status, raw)
		}
		acked = append(acked, id)
	}

	// SIGKILL: no graceful close, no chance to flush anything.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed = true

	base2 := start(t, path)
	recs := export(t, base2)
	held := map[string]wire.CapturedRequest{}
	for _, r := range recs {
		held[r.RequestID] = r
	}
	for i, id := range acked {
		r, ok := held[id]
		if !ok {
			t.Errorf("acknowledged order %s lost after the kill", id)
			continue
		}
		if r.AmountCents != int64(100+i) || !bytes.Contains(r.Body, []byte("ref-"+id)) {
			t.Errorf("%s stored as %+v", id, r)
		}
	}
}

func TestFlagsAndValidate(t *testing.T) {
	c := capture.DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	fs := pflag.NewFlagSet("capture", pflag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"--risk-limit-cents=500", "--store=c.sqlite"}); err != nil {
		t.Fatal(err)
	}
	if c.RiskLimitCents != 500 || c.Store != "c.sqlite" {
		t.Fatalf("flags not applied: %+v", c)
	}
	err := capture.Config{RiskLimitCents: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "--store") || !strings.Contains(err.Error(), "--risk-limit-cents") {
		t.Fatalf("Validate = %v, want --store and --risk-limit-cents named", err)
	}
}
