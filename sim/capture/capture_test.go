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
	"slices"
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
	_, base := startWith(t, c)
	return base
}

// startWith serves the capture service c describes until the test ends.
func startWith(t *testing.T, c capture.Config) (*capture.Capture, string) {
	t.Helper()
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
	return s, srv.URL()
}

// early is the config of a capture that acknowledges before it stores,
// flushing after flush.
func early(path string, flush time.Duration) capture.Config {
	c := capture.DefaultConfig()
	c.Store, c.Ack, c.Flush = path, capture.AckEarly, wire.Duration(flush)
	return c
}

// ids lists the request ids of recs, in order.
func ids(recs []wire.CapturedRequest) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.RequestID)
	}
	return out
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

// With ack durable (the default) an order is in the store when its answer
// arrives; with ack early it is answered first, the same answer, and is in
// the store only once a flush wrote it.
func TestAckDurableStoresBeforeAnsweringAckEarlyAfter(t *testing.T) {
	body := orderBody("ref-1", 2500)
	want := wire.OrderAnswer{RequestID: "req-1", Reference: "ref-1", AmountCents: 2500, Status: "accepted"}
	answer := func(t *testing.T, base string) {
		t.Helper()
		status, raw, hdr := post(t, base, "req-1", body)
		var ans wire.OrderAnswer
		if err := json.Unmarshal(raw, &ans); err != nil || status != http.StatusCreated || ans != want ||
			hdr.Get(wire.HeaderRequestID) != "req-1" {
			t.Fatalf("answered %d %s (header id %q), want 201 %+v", status, raw, hdr.Get(wire.HeaderRequestID), want)
		}
	}

	t.Run("durable", func(t *testing.T) {
		c := capture.DefaultConfig()
		c.Store = filepath.Join(t.TempDir(), "capture.sqlite")
		if c.Ack != capture.AckDurable {
			t.Fatalf("default ack %q, want %q", c.Ack, capture.AckDurable)
		}
		_, base := startWith(t, c)
		answer(t, base)
		if recs := export(t, base); len(recs) != 1 || recs[0].RequestID != "req-1" || string(recs[0].Body) != body {
			t.Fatalf("stored %v when the answer arrived, want req-1", ids(recs))
		}
	})

	t.Run("early", func(t *testing.T) {
		s, base := startWith(t, early(filepath.Join(t.TempDir(), "capture.sqlite"), time.Hour))
		answer(t, base)
		if recs := export(t, base); len(recs) != 0 {
			t.Fatalf("stored %v when the answer arrived, want nothing before a flush", ids(recs))
		}
		// The same id again while buffered: answered as first held, and
		// stored once.
		if status, raw, _ := post(t, base, "req-1", orderBody("ref-other", 1)); status != http.StatusCreated ||
			!strings.Contains(string(raw), `"reference":"ref-1"`) {
			t.Fatalf("repeat while buffered: %d %s, want 201 with ref-1", status, raw)
		}
		if status, _, _ := post(t, base, "req-2", orderBody("ref-2", 300)); status != http.StatusCreated {
			t.Fatalf("req-2: %d", status)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		recs := export(t, base)
		if got := ids(recs); !slices.Equal(got, []string{"req-1", "req-2"}) {
			t.Fatalf("stored %v after the flush, want [req-1 req-2]", got)
		}
		r := recs[0]
		if string(r.Body) != body || r.Reference != "ref-1" || r.AmountCents != 2500 || r.Status != http.StatusCreated ||
			r.CapturedAt.IsZero() || http.Header(r.Header).Get("X-Custom") != "kept" {
			t.Fatalf("stored %+v", r)
		}
		// Once stored, a repeat is answered from the store, not buffered again.
		if status, raw, _ := post(t, base, "req-1", orderBody("ref-other", 1)); status != http.StatusCreated ||
			!strings.Contains(string(raw), `"reference":"ref-1"`) {
			t.Fatalf("repeat after the flush: %d %s, want 201 with ref-1", status, raw)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := ids(export(t, base)); len(got) != 2 {
			t.Fatalf("stored %v, want each id once", got)
		}
	})
}

// With ack early the buffer is written by itself, within the flush
// interval of the first order it held.
func TestAckEarlyFlushesWithinTheInterval(t *testing.T) {
	_, base := startWith(t, early(filepath.Join(t.TempDir(), "capture.sqlite"), 50*time.Millisecond))
	for i := 0; i < 3; i++ {
		if status, _, _ := post(t, base, fmt.Sprintf("req-%d", i), orderBody("ref", 100)); status != http.StatusCreated {
			t.Fatalf("req-%d: %d", i, status)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := ids(export(t, base))
		if slices.Equal(got, []string{"req-0", "req-1", "req-2"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored %v 20 s after a 50 ms flush interval, want [req-0 req-1 req-2]", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A graceful close writes what the buffer holds.
func TestAckEarlyCloseWritesTheBuffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "capture.sqlite")
	s, err := capture.New(early(path, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := service.Start("127.0.0.1:0", s)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := post(t, srv.URL(), "req-1", orderBody("ref-1", 100)); status != http.StatusCreated {
		t.Fatalf("status %d", status)
	}
	if err := srv.Close(); err != nil { // closes s too
		t.Fatal(err)
	}
	if got := ids(export(t, start(t, path))); !slices.Equal(got, []string{"req-1"}) {
		t.Fatalf("stored %v after a graceful close, want [req-1]", got)
	}
}

const (
	childEnv    = "PAYDRILL_CAPTURE_CHILD"
	childAckEnv = "PAYDRILL_CAPTURE_CHILD_ACK"
)

// TestCaptureChildProcess is the capture service run as a separate process
// by TestAcknowledgedOrdersSurviveKill and TestAckEarlyKillLosesWhatItAcknowledged
// (with the ack of PAYDRILL_CAPTURE_CHILD_ACK and an hour's flush); run
// alone it skips.
func TestCaptureChildProcess(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("only runs as the child of TestAcknowledgedOrdersSurviveKill")
	}
	c := capture.DefaultConfig()
	c.Store = path
	if ack := os.Getenv(childAckEnv); ack != "" {
		c.Ack, c.Flush = ack, wire.Duration(time.Hour)
	}
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
	acked := postThenKill(t, path, capture.AckDurable, 25)

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

// The counterpart, with ack early: the process dies before its buffer is
// written, and every order it acknowledged is gone.
func TestAckEarlyKillLosesWhatItAcknowledged(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	path := filepath.Join(t.TempDir(), "capture.sqlite")
	acked := postThenKill(t, path, capture.AckEarly, 25)
	if len(acked) != 25 {
		t.Fatalf("%d acknowledged, want 25", len(acked))
	}
	if recs := export(t, start(t, path)); len(recs) != 0 {
		t.Fatalf("stored %v after the kill, want nothing: the buffer (flushed hourly) died with the process", ids(recs))
	}
}

// postThenKill runs capture (with ack) as a child process on the store at
// path, sends it n orders (amounts 100+i cents), each answered 201, kills
// it with SIGKILL, and returns the acknowledged request ids.
func postThenKill(t *testing.T, path, ack string, n int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCaptureChildProcess$")
	cmd.Env = append(os.Environ(), childEnv+"="+path, childAckEnv+"="+ack)
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
	for i := 0; i < n; i++ {
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
	return acked
}

func TestFlagsAndValidate(t *testing.T) {
	c := capture.DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	fs := pflag.NewFlagSet("capture", pflag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"--risk-limit-cents=500", "--store=c.sqlite", "--ack=early", "--flush=250ms"}); err != nil {
		t.Fatal(err)
	}
	if c.RiskLimitCents != 500 || c.Store != "c.sqlite" || c.Ack != capture.AckEarly || c.Flush.D() != 250*time.Millisecond {
		t.Fatalf("flags not applied: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("ack early: %v", err)
	}
	err := capture.Config{RiskLimitCents: -1, Ack: "eventually"}.Validate()
	for _, flag := range []string{"--store", "--risk-limit-cents", "--ack", "--flush"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Fatalf("Validate = %v, want %s named", err, flag)
		}
	}
}
