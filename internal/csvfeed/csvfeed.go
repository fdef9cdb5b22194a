// Package csvfeed reads the person list a community or social care system
// exports as CSV — one row per person, or per contact with them — and
// turns each row into ingest Items: the person's demographics, and the
// contact as an encounter. It is a codec at the edge, like fhir and hl7v2:
// it checks what a row says, never decides who the person is (ingest and
// the registry do), and never logs a value from a row.
//
// The format, one header row then data rows, columns in any order:
//
//	local_id           required  the system's own id for the person (what makes a re-import an update)
//	given_name         required
//	family_name        required
//	birth_date         required  YYYY-MM-DD or DD/MM/YYYY
//	nhs_number                   ten digits, spaces allowed
//	nhs_number_status            "verified" (or PDS code 01) when traced; anything else is unverified
//	sex                          female, male, other, unknown (or F, M, O, U)
//	postcode
//	practice_ods                 the registered GP practice's ODS code
//	date_of_death
//	contact_id                   the system's id for a contact; needed with contact_date
//	contact_date                 the day of the contact (YYYY-MM-DD or DD/MM/YYYY)
//	contact_type                 community (default), social_care or mental_health
//	service_ods                  the ODS code of the service that made the contact
//
// A file that is not UTF-8 text, a header without a required column or
// with a column not listed here, is refused whole. A bad row is an error
// naming its line and column (never its value: that is person data), and
// is skipped; the rest are read.
package csvfeed

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// Columns are the columns the format knows, required ones first.
var Columns = []string{"local_id", "given_name", "family_name", "birth_date",
	"nhs_number", "nhs_number_status", "sex", "postcode", "practice_ods", "date_of_death",
	"contact_id", "contact_date", "contact_type", "service_ods"}

const required = 4 // the first four Columns

// Limits on what a field may hold: a name is not a paragraph.
const (
	maxName  = 100
	maxField = 64
	maxRow   = 4096 // bytes across all fields of a row
)

// earliest is the earliest date the feed believes: nobody alive in a
// community caseload was born before it, and no contact predates it.
var earliest = time.Date(1890, 1, 1, 0, 0, 0, 0, time.UTC)

// RowError is a problem with one row: the row is skipped.
type RowError struct {
	File   string
	Line   int
	Column string // "" when the problem is the whole row
	Msg    string
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s line %d, column %s: %s", e.File, e.Line, e.Column, e.Msg)
}

// Reader reads items from a CSV feed.
type Reader struct {
	r      *csv.Reader
	file   string
	source string
	now    time.Time
	col    map[string]int
	width  int
}

// NewReader reads the header and checks it. source names the sending
// system ("community:NAME"); file names the input in messages; now is the
// receipt time and the latest date a row may hold.
func NewReader(rd io.Reader, file, source string, now time.Time) (*Reader, error) {
	r := csv.NewReader(rd)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, apperr.Ef(apperr.Invalid, "%s is empty: it needs a header row (%s)", file, strings.Join(Columns[:required], ","))
	case err != nil:
		return nil, apperr.Ef(apperr.Invalid, "%s: the header is not CSV: %v", file, csvErr(err))
	}
	col := map[string]int{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, apperr.Ef(apperr.Invalid, "%s: header column %d is not UTF-8 text", file, i+1)
		}
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(Columns, name) {
			return nil, apperr.Ef(apperr.Invalid, "%s: unknown column %q in the header: the columns are %s", file, name, strings.Join(Columns, ", "))
		}
		if _, dup := col[name]; dup {
			return nil, apperr.Ef(apperr.Invalid, "%s: column %s appears twice in the header", file, name)
		}
		col[name] = i
	}
	for _, c := range Columns[:required] {
		if _, ok := col[c]; !ok {
			return nil, apperr.Ef(apperr.Invalid, "%s: the header has no %s column (required: %s)", file, c, strings.Join(Columns[:required], ", "))
		}
	}
	if _, ok := col["contact_date"]; ok {
		if _, ok := col["contact_id"]; !ok {
			return nil, apperr.Ef(apperr.Invalid, "%s: the header has contact_date but no contact_id column: a contact needs its id", file)
		}
	}
	return &Reader{r: r, file: file, source: source, now: now.UTC(), col: col, width: len(header)}, nil
}

// Next returns the items of the next row: the person, then the contact
// when the row has one. A *RowError (kind Invalid) means the row was
// skipped and reading may go on; io.EOF ends the feed; any other error
// ends it too (the file is not CSV from that point).
func (r *Reader) Next() ([]ingest.Item, error) {
	row, err := r.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	line, _ := r.r.FieldPos(0)
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			return nil, r.rowErr(line, "", "%d fields where the header has %d", len(row), r.width)
		}
		return nil, apperr.Ef(apperr.Invalid, "%s line %d: not CSV (%v): nothing after it was read", r.file, line, csvErr(err))
	}
	if len(row) != r.width {
		return nil, r.rowErr(line, "", "%d fields where the header has %d", len(row), r.width)
	}
	return r.parse(line, row)
}

func (r *Reader) rowErr(line int, column, format string, args ...any) error {
	return apperr.Wrap(apperr.Invalid, &RowError{File: r.file, Line: line, Column: column, Msg: fmt.Sprintf(format, args...)}, "")
}

func (r *Reader) parse(line int, row []string) ([]ingest.Item, error) {
	size := 0
	for _, f := range row {
		size += len(f)
	}
	if size > maxRow {
		return nil, r.rowErr(line, "", "longer than %d bytes", maxRow)
	}
	var bad error
	get := func(name string, limit int) string {
		i, ok := r.col[name]
		if !ok || bad != nil {
			return ""
		}
		v := strings.TrimSpace(row[i])
		switch {
		case !utf8.ValidString(v):
			bad = r.rowErr(line, name, "not UTF-8 text (re-export the file as UTF-8)")
		case len(v) > limit:
			bad = r.rowErr(line, name, "longer than %d bytes", limit)
		case strings.IndexFunc(v, unicode.IsControl) >= 0:
			bad = r.rowErr(line, name, "holds a control character")
		}
		return v
	}
	date := func(name string, notBefore time.Time) time.Time {
		v := get(name, maxField)
		if v == "" || bad != nil {
			return time.Time{}
		}
		t, err := parseDate(v)
		switch {
		case err != nil:
			bad = r.rowErr(line, name, "%s", err)
		case t.Before(earliest):
			bad = r.rowErr(line, name, "before %s: not a believable date", earliest.Format(time.DateOnly))
		case t.Before(notBefore):
			bad = r.rowErr(line, name, "before the date of birth")
		case t.After(r.now):
			bad = r.rowErr(line, name, "in the future: not a believable date")
		}
		return t
	}
	localID := get("local_id", maxField)
	if localID == "" && bad == nil {
		bad = r.rowErr(line, "local_id", "empty: every row needs the system's id for the person")
	}
	p := registry.Person{GivenName: get("given_name", maxName), FamilyName: get("family_name", maxName),
		Postcode: strings.ToUpper(get("postcode", maxField)), PracticeID: strings.ToUpper(get("practice_ods", maxField)),
		Source: r.source, ReceivedAt: r.now}
	for _, c := range []string{"given_name", "family_name"} {
		if get(c, maxName) == "" && bad == nil {
			bad = r.rowErr(line, c, "empty")
		}
	}
	p.BirthDate = date("birth_date", time.Time{})
	if p.BirthDate.IsZero() && bad == nil {
		bad = r.rowErr(line, "birth_date", "empty")
	}
	p.DateOfDeath = date("date_of_death", p.BirthDate)
	p.Sex = sexOf(get("sex", maxField))
	if p.Sex == "" && bad == nil {
		bad = r.rowErr(line, "sex", "give female, male, other or unknown (or F, M, O, U)")
	}
	p.NHSNumber = strings.ReplaceAll(get("nhs_number", maxField), " ", "")
	switch {
	case bad != nil:
	case p.NHSNumber == "":
		p.NHSNumberStatus = registry.NHSAbsent
	case len(p.NHSNumber) != 10 || strings.Trim(p.NHSNumber, "0123456789") != "":
		bad = r.rowErr(line, "nhs_number", "not ten digits")
	case !registry.ValidNHSNumber(p.NHSNumber):
		p.NHSNumberStatus = registry.NHSInvalid // kept as sent, never linked on
	default:
		switch strings.ToLower(get("nhs_number_status", maxField)) {
		case "verified", "01":
			p.NHSNumberStatus = registry.NHSVerified
		default:
			p.NHSNumberStatus = registry.NHSUnverified
		}
	}
	contactID, contactType, service := get("contact_id", maxField), get("contact_type", maxField), strings.ToUpper(get("service_ods", maxField))
	contact := date("contact_date", p.BirthDate)
	class := record.Community
	switch {
	case bad != nil:
	case contact.IsZero() && (contactID != "" || contactType != "" || service != ""):
		bad = r.rowErr(line, "contact_date", "empty, but the row describes a contact")
	case !contact.IsZero() && contactID == "":
		bad = r.rowErr(line, "contact_id", "empty: a contact needs the system's id for it")
	case !p.DateOfDeath.IsZero() && contact.After(p.DateOfDeath):
		bad = r.rowErr(line, "contact_date", "after the date of death")
	case contactType == "" || contactType == string(record.Community):
	case contactType == string(record.SocialCareContact) || contactType == string(record.MentalHealth):
		class = record.EncounterClass(contactType)
	default:
		bad = r.rowErr(line, "contact_type", "give community, social_care or mental_health")
	}
	if bad != nil {
		return nil, bad
	}
	at := fmt.Sprintf("%s line %d", r.file, line)
	items := []ingest.Item{{Source: r.source, Subject: localID, At: at, Person: &p}}
	if !contact.IsZero() {
		var e record.Encounter
		e.Class, e.Start, e.OrgID = class, contact, service
		e.Provenance = record.Provenance{Source: r.source, SourceRef: contactID, ReceivedAt: r.now}
		items = append(items, ingest.Item{Source: r.source, Subject: localID, At: at, Rows: record.Batch{Encounters: []record.Encounter{e}}})
	}
	return items, nil
}

func sexOf(v string) registry.Sex {
	switch strings.ToLower(v) {
	case "female", "f":
		return registry.Female
	case "male", "m":
		return registry.Male
	case "other", "o", "indeterminate", "i":
		return registry.Other
	case "unknown", "u", "not known", "not specified", "":
		return registry.Unknown
	}
	return ""
}

// parseDate reads YYYY-MM-DD, or DD/MM/YYYY as UK systems export dates;
// a date not on the calendar (31/02/1950) is an error, never rolled over.
// The error does not repeat the value: it is person data.
func parseDate(v string) (time.Time, error) {
	for _, layout := range []string{time.DateOnly, "02/01/2006", "2/1/2006"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a date: give YYYY-MM-DD or DD/MM/YYYY")
}

func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
