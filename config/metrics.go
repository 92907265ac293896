package config

import (
	"fmt"
	"net"
)

// Metrics says where serve offers /metrics (Prometheus text format). The probes /healthz
// and /readyz are on the web app's address always, and on this one too.
type Metrics struct {
	// Listen is a separate address for /metrics, /healthz and /readyz, such as
	// "127.0.0.1:9464", for when the web app's address is reachable from outside: metrics
	// need no login, and name campaigns and sources. Empty (the default): /metrics is served
	// on the web app's address.
	Listen string `toml:"listen"`
}

func (m *Metrics) validate() []error {
	if m.Listen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		return []error{fmt.Errorf("metrics.listen = %q: give host:port, such as \"127.0.0.1:9464\"", m.Listen)}
	}
	return nil
}
