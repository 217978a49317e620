package dyno_test

import (
	"net/http"
	"testing"

	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

func chargesFor(t testing.TB, b simtest.Backend, ref string) []wire.Charge {
	t.Helper()
	var out []wire.Charge
	for _, ch := range simtest.Fetch[wire.Charge](t, b.Gateway.URL()+wire.PathExport) {
		if ch.Reference == ref {
			out = append(out, ch)
		}
	}
	return out
}

func orderRecord(t testing.TB, b simtest.Backend, id string) (wire.OrderRecord, bool) {
	t.Helper()
	var rec wire.OrderRecord
	status := simtest.GetJSON(t, b.DB.URL()+wire.PathOrders+"/"+id, &rec)
	return rec, status == http.StatusOK
}
