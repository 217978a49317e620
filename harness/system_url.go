package harness

// URL is the base URL of role ("gateway", "dyno[2]"...) as in Components,
// "" for a role the system does not have.
//
// Both runtimes fill Components in Start and never change it afterwards
// (the docker runtime pins each container's published host port, so a
// container stopped or killed and started again by a fault answers on the
// same URL), so URL, like reading Components, is safe from any goroutine
// once Start has returned.
func (s *System) URL(role string) string { return s.Components[role] }
