package cluster

import "crypto/tls"

// insecureTLS is used only to poll /readyz before the API server's
// self-signed certificate exists on disk; every client afterwards verifies it.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // readiness probe on loopback only
}
