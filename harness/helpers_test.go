package harness

import "paydrill/sim/dist"

func constCents(c float64) dist.Dist { return dist.Const{Value: c} }
