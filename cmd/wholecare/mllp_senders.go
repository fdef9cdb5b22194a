package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// mllpSender registers the addresses an HL7 v2 sender connects from to a
// system client, so that every connection is identified as that client
// (MLLP has no credentials of its own; TLS client certificates would be
// the stronger way, and are not built yet).
type mllpSender struct {
	client string
	prefix netip.Prefix
}

// parseMLLPSenders reads NAME=CIDR[,NAME=CIDR…] (an address without a
// prefix length is one host).
func parseMLLPSenders(s string) ([]mllpSender, error) {
	var out []mllpSender
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		name, cidr, ok := strings.Cut(part, "=")
		if !ok || name == "" || cidr == "" {
			return nil, &usageError{fmt.Sprintf("--mllp-sender %q: use NAME=ADDRESS or NAME=CIDR, e.g. pas.rxx=10.1.2.0/24", part)}
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			a, aerr := netip.ParseAddr(cidr)
			if aerr != nil {
				return nil, &usageError{fmt.Sprintf("--mllp-sender %q: %q is not an address or CIDR", part, cidr)}
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, mllpSender{client: name, prefix: p.Masked()})
	}
	return out, nil
}

// identifySenders returns the MLLP server's Identify: a connection from a
// registered address is the system client registered for it, which must
// exist, be a system client and not be disabled, checked at every
// connection so that disabling a client stops its feed. With nothing
// registered, only this machine (loopback) may connect, unnamed — enough
// for a demo, never for a network.
func identifySenders(db *sqlstore.DB, senders []mllpSender) func(net.Addr) (string, error) {
	return func(remote net.Addr) (string, error) {
		ap, err := netip.ParseAddrPort(remote.String())
		if err != nil {
			return "", fmt.Errorf("unreadable address")
		}
		ip := ap.Addr().Unmap()
		if len(senders) == 0 {
			if ip.IsLoopback() {
				return "", nil
			}
			return "", fmt.Errorf("only loopback connections are accepted until senders are registered with --mllp-sender NAME=CIDR")
		}
		for _, s := range senders {
			if !s.prefix.Contains(ip) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			u, err := db.UserByName(ctx, s.client)
			cancel()
			switch {
			case err != nil:
				return "", fmt.Errorf("registered client %s: %w", s.client, err)
			case u.Role != auth.SystemClient:
				return "", fmt.Errorf("registered client %s is not a system client", s.client)
			case u.Disabled:
				return "", fmt.Errorf("registered client %s is disabled", s.client)
			}
			return s.client, nil
		}
		return "", fmt.Errorf("address not registered with --mllp-sender")
	}
}
