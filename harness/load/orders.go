package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"net/http"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"paydrill/sim/dist"
	"paydrill/sim/wire"
)

// SentOrder is one order the load sent, as generated from the seed.
type SentOrder struct {
	Index       int    `json:"index"`
	RequestID   string `json:"request_id"`
	Reference   string `json:"reference"`
	Customer    string `json:"customer"`
	CardToken   string `json:"card_token"`
	AmountCents int64  `json:"amount_cents"`
}

// OrderSource makes the i-th order of a run: a pure function of the seed
// and i, so the same seed gives the same orders whatever the timing.
// Customers are drawn from a population, so the same customer buys the
// same amount again now and then, as in life.
type OrderSource struct {
	Seed      int64
	Customers int
	Amount    dist.Dist // cents
}

// Order returns order i (0-based).
func (o OrderSource) Order(i int) SentOrder {
	d := o.draw(i)
	return SentOrder{
		Index:       i,
		RequestID:   fmt.Sprintf("%016x%016x", d.id[0], d.id[1]),
		Reference:   fmt.Sprintf("ord-%07d", i+1),
		Customer:    fmt.Sprintf("cus_%05d", d.customer),
		CardToken:   fmt.Sprintf("tok_%05d", d.customer),
		AmountCents: d.cents,
	}
}

// AmountCents is order i's amount, as Order gives it, without the cost of
// formatting its strings (the model runtime needs only the amount).
func (o OrderSource) AmountCents(i int) int64 { return o.draw(i).cents }

// drawn is what order i's seeded draws come to.
type drawn struct {
	id       [2]uint64
	customer int
	cents    int64
}

// draw makes order i's draws, in the one order that defines it.
func (o OrderSource) draw(i int) drawn {
	src := &splitmix{state: uint64(o.Seed)*0x9E3779B97F4A7C15 ^ uint64(i)*0xBF58476D1CE4E5B9}
	r := rand.New(src)
	d := drawn{id: [2]uint64{src.Uint64(), src.Uint64()}}
	d.customer = r.Intn(max(o.Customers, 1))
	d.cents = max(int64(math.Round(o.Amount.Sample(r))), 1)
	return d
}

// splitmix is SplitMix64: a tiny, fast rand.Source64, cheap enough to make
// one per order.
type splitmix struct{ state uint64 }

var _ rand.Source64 = (*splitmix)(nil)

func (s *splitmix) Uint64() uint64 {
	s.state += 0x9E3779B97F4A7C15
	z := s.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
func (s *splitmix) Int63() int64    { return int64(s.Uint64() >> 1) }
func (s *splitmix) Seed(seed int64) { s.state = uint64(seed) }

// Body is the order's JSON body as the edge receives it.
func (o SentOrder) Body() []byte {
	b, err := json.Marshal(wire.Order{Reference: o.Reference, Customer: o.Customer, AmountCents: o.AmountCents, CardToken: o.CardToken})
	if err != nil {
		panic("harness: an order does not marshal: " + err.Error()) // strings and an int64 always do
	}
	return b
}

// orderHeader is the order's headers: its request id, as a client that
// retries would send it.
func (o SentOrder) header() http.Header {
	return http.Header{"Content-Type": {"application/json"}, wire.HeaderRequestID: {o.RequestID}}
}

// Target fills t with order o sent to base (the edge, or any component
// that takes orders): the one way the run, the bench and the tests send
// an order through vegeta; OrderRequest is the same order as a request.
func Target(t *vegeta.Target, base string, o SentOrder) {
	t.Method, t.URL, t.Body, t.Header = http.MethodPost, base+wire.PathOrders, o.Body(), o.header()
}

// OrderRequest is order o as one POST to the edge at base.
func OrderRequest(ctx context.Context, base string, o SentOrder) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+wire.PathOrders, bytes.NewReader(o.Body()))
	if err != nil {
		return nil, err
	}
	req.Header = o.header()
	return req, nil
}
