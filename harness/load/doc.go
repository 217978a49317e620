// Package load is the order traffic of a run: the plan of it in wall time
// (Plan, Stage), the pacers that time each order (constant or Poisson
// arrivals along piecewise-linear stages), the seeded order source, the
// one order request every sender builds (Target, OrderRequest), and Run,
// which drives one phase of traffic with vegeta and keeps what the client
// saw of every order.
package load
