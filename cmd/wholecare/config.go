package main

import (
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// config is every setting of a run, filled from flags and the injected
// environment, validated once, then passed down as values.
type config struct {
	db             string
	addr           string
	webDev         string // internal/web on disk: pages re-read at every request
	mllpAddr       string // "" when the HL7 v2 listener is off
	mllpSenders    []mllpSender
	mllpSendersEnv string
	people         int
	seed           int64
	now            string // YYYY-MM-DD, "" for today
	replace        bool
	ndjson         string
	logFormat      string
	logLevel       string

	tlsCert, tlsKey string // both or neither: serve HTTPS
	consentModel    string // implied or explicit

	exportDir string // where FHIR bulk export files are written

	noLinkage bool   // incoming people are never matched to the registry by record linkage
	riskModel string // a model file from wholecare risk train; "" for no risk scores

	// OpenID Connect sign-in: all four or none.
	oidcIssuer, oidcClientID, oidcClientSecret, oidcRedirect string
}

func defaultConfig(getenv func(string) string) config {
	c := config{
		db:           "sqlite:wholecare.db",
		addr:         "127.0.0.1:8080",
		people:       20000,
		seed:         1,
		logFormat:    "json",
		logLevel:     "info",
		consentModel: "implied",
	}
	if v := getenv("WHOLECARE_DB"); v != "" {
		c.db = v
	}
	if v := getenv("WHOLECARE_ADDR"); v != "" {
		c.addr = v
	}
	c.mllpAddr = getenv("WHOLECARE_MLLP_ADDR")
	if v := getenv("WHOLECARE_MLLP_SENDERS"); v != "" {
		c.mllpSenders, _ = parseMLLPSenders(v) // checked again in validAddr
		c.mllpSendersEnv = v
	}
	c.tlsCert, c.tlsKey = getenv("WHOLECARE_TLS_CERT"), getenv("WHOLECARE_TLS_KEY")
	if v := getenv("WHOLECARE_CONSENT_MODEL"); v != "" {
		c.consentModel = v
	}
	c.exportDir = getenv("WHOLECARE_EXPORT_DIR")
	c.oidcIssuer, c.oidcClientID = getenv("WHOLECARE_OIDC_ISSUER"), getenv("WHOLECARE_OIDC_CLIENT_ID")
	c.oidcClientSecret, c.oidcRedirect = getenv("WHOLECARE_OIDC_CLIENT_SECRET"), getenv("WHOLECARE_OIDC_REDIRECT_URL")
	return c
}

// trustFlags are the security settings of a server.
func (c *config) trustFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.tlsCert, "tls-cert", c.tlsCert, "serve HTTPS with this PEM certificate (env WHOLECARE_TLS_CERT; needs --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", c.tlsKey, "the PEM private key of --tls-cert (env WHOLECARE_TLS_KEY)")
	fs.StringVar(&c.consentModel, "consent-model", c.consentModel,
		"implied: direct care is shared unless the person objects or withdraws consent (NHS shared care records); explicit: every purpose needs a recorded consent (env WHOLECARE_CONSENT_MODEL)")
	fs.StringVar(&c.oidcIssuer, "oidc-issuer", c.oidcIssuer, "OpenID Connect issuer URL for sign-in with an organisation's identity provider (env WHOLECARE_OIDC_ISSUER)")
	fs.StringVar(&c.oidcClientID, "oidc-client-id", c.oidcClientID, "OpenID Connect client id (env WHOLECARE_OIDC_CLIENT_ID)")
	fs.StringVar(&c.oidcRedirect, "oidc-redirect-url", c.oidcRedirect, "this server's callback, https://HOST/auth/oidc/callback (env WHOLECARE_OIDC_REDIRECT_URL)")
	fs.StringVar(&c.exportDir, "export-dir", c.exportDir, "directory for FHIR bulk export files (env WHOLECARE_EXPORT_DIR; default: wholecare-exports in the temporary directory)")
	// The client secret comes only from the environment, never a flag that ps would show.
}

func (c *config) validTrust() error {
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return &usageError{"give both --tls-cert and --tls-key, or neither"}
	}
	set := 0
	for _, v := range []string{c.oidcIssuer, c.oidcClientID, c.oidcClientSecret, c.oidcRedirect} {
		if v != "" {
			set++
		}
	}
	if set != 0 && set != 4 {
		return &usageError{"OpenID Connect needs --oidc-issuer, --oidc-client-id, --oidc-redirect-url and WHOLECARE_OIDC_CLIENT_SECRET together"}
	}
	if c.consentModel != "implied" && c.consentModel != "explicit" {
		return &usageError{fmt.Sprintf("--consent-model %q: use implied or explicit", c.consentModel)}
	}
	return nil
}

func (c *config) dbFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.db, "db", c.db, "database: sqlite:PATH or a postgres:// URL (env WHOLECARE_DB)")
}

func (c *config) logFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.logFormat, "log-format", c.logFormat, "log format: json or text")
	fs.StringVar(&c.logLevel, "log-level", c.logLevel, "log level: debug, info, warn or error")
}

func (c *config) addrFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", c.addr, "address to listen on, HOST:PORT (env WHOLECARE_ADDR; port 0 picks a free port)")
	fs.StringVar(&c.webDev, "dev", c.webDev, "development: read page templates and the stylesheet from this internal/web directory at every request")
}

func (c *config) mllpFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.mllpAddr, "mllp-addr", c.mllpAddr, "also receive HL7 v2 ADT over MLLP on HOST:PORT (env WHOLECARE_MLLP_ADDR; off when empty)")
	fs.Func("mllp-sender", "register an HL7 v2 sender: NAME=CIDR, NAME a system client (repeatable; env WHOLECARE_MLLP_SENDERS, comma-separated); with none, only loopback may connect",
		func(v string) error {
			s, err := parseMLLPSenders(v)
			c.mllpSenders = append(c.mllpSenders, s...)
			return err
		})
}

func (c *config) populationFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.people, "people", c.people, "number of synthetic people")
	fs.Int64Var(&c.seed, "seed", c.seed, "random seed: the same seed gives the same population")
	fs.StringVar(&c.now, "now", c.now, "the day the synthetic history ends, YYYY-MM-DD (default today, or the day of an unfinished run being resumed)")
}

func (c *config) validAddr() error {
	if err := validHostPort("--addr", c.addr, "127.0.0.1:8080"); err != nil {
		return err
	}
	if c.mllpSendersEnv != "" {
		if _, err := parseMLLPSenders(c.mllpSendersEnv); err != nil {
			return err
		}
	}
	if c.mllpAddr != "" {
		return validHostPort("--mllp-addr", c.mllpAddr, "127.0.0.1:2575")
	}
	return nil
}

func validHostPort(flag, addr, example string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return &usageError{fmt.Sprintf("%s %q not understood: use HOST:PORT, e.g. %s", flag, addr, example)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return &usageError{fmt.Sprintf("%s %q: port must be a number from 0 to 65535", flag, addr)}
	}
	return nil
}

func (c *config) validPopulation() error {
	if c.people < 1 || c.people > 10_000_000 {
		return &usageError{fmt.Sprintf("--people %d: choose from 1 to 10,000,000", c.people)}
	}
	if c.now != "" {
		if _, err := time.Parse(time.DateOnly, c.now); err != nil {
			return &usageError{fmt.Sprintf("--now %q not understood: use YYYY-MM-DD", c.now)}
		}
	}
	return nil
}

func (c *config) validDB() error {
	if !strings.HasPrefix(c.db, "sqlite:") && !strings.HasPrefix(c.db, "postgres://") && !strings.HasPrefix(c.db, "postgresql://") {
		return &usageError{fmt.Sprintf("database %q not understood: use sqlite:PATH or a postgres:// URL", redactDSN(c.db))}
	}
	return nil
}

// redactDSN hides a password in a database URL before it is printed.
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return dsn[:scheme+3] + userinfo[:i] + ":xxxxx" + dsn[at:]
	}
	return dsn
}

// today is the UTC midnight of the current day; the CLI is the one place
// that reads the clock for a generation run.
func today() time.Time {
	return time.Now().UTC().Truncate(24 * time.Hour)
}
