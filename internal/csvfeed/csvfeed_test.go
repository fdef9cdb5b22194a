package csvfeed

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

var now = time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC)

func d(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }

// readAll reads every row, collecting items and row errors.
func readAll(t *testing.T, text string) ([]ingest.Item, []string) {
	t.Helper()
	r, err := NewReader(strings.NewReader(text), "feed.csv", "community:rio", now)
	if err != nil {
		t.Fatal(err)
	}
	var items []ingest.Item
	var errs []string
	for {
		its, err := r.Next()
		if errors.Is(err, io.EOF) {
			return items, errs
		}
		if err != nil {
			var re *RowError
			if !errors.As(err, &re) || apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("Next: %v is not an Invalid row error", err)
			}
			errs = append(errs, apperr.Message(err))
			continue
		}
		items = append(items, its...)
	}
}

func TestGoodRows(t *testing.T) {
	text := "local_id,nhs_number,nhs_number_status,given_name,family_name,birth_date,sex,postcode,practice_ods,contact_id,contact_date,contact_type,service_ods\n" +
		"C1,943 476 5919,verified,Ann,Smith,1950-03-01,F,ls1 4ap,b86001,V1,2025-03-02,social_care,rx1\n" +
		"C2,9434765918,01,Zoë,O'Brien,01/02/1960,male,,,,,,\n" +
		"C3,,,Sam,Lee,2/1/1970,,,,,,,\n"
	items, errs := readAll(t, text)
	if len(errs) > 0 {
		t.Fatalf("row errors: %v", errs)
	}
	recv := now
	want := []ingest.Item{
		{Source: "community:rio", Subject: "C1", At: "feed.csv line 2", Person: &registry.Person{NHSNumber: "9434765919", NHSNumberStatus: registry.NHSVerified,
			GivenName: "Ann", FamilyName: "Smith", BirthDate: d(1950, 3, 1), Sex: registry.Female, Postcode: "LS1 4AP", PracticeID: "B86001",
			Source: "community:rio", ReceivedAt: recv}},
		{Source: "community:rio", Subject: "C1", At: "feed.csv line 2", Rows: record.Batch{Encounters: []record.Encounter{{Class: record.SocialCareContact,
			Start: d(2025, 3, 2), OrgID: "RX1", Provenance: record.Provenance{Source: "community:rio", SourceRef: "V1", ReceivedAt: recv}}}}},
		// A number failing its check digit is kept, marked invalid, whatever the status column says.
		{Source: "community:rio", Subject: "C2", At: "feed.csv line 3", Person: &registry.Person{NHSNumber: "9434765918", NHSNumberStatus: registry.NHSInvalid,
			GivenName: "Zoë", FamilyName: "O'Brien", BirthDate: d(1960, 2, 1), Sex: registry.Male, Source: "community:rio", ReceivedAt: recv}},
		{Source: "community:rio", Subject: "C3", At: "feed.csv line 4", Person: &registry.Person{NHSNumberStatus: registry.NHSAbsent,
			GivenName: "Sam", FamilyName: "Lee", BirthDate: d(1970, 1, 2), Sex: registry.Unknown, Source: "community:rio", ReceivedAt: recv}},
	}
	if diff := cmp.Diff(want, items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	for _, it := range items {
		if err := ingest.Normalise(&it); err != nil {
			t.Errorf("%s: ingest refuses the item: %v", it.At, err)
		}
	}
}

func TestBadHeaders(t *testing.T) {
	for _, tt := range []struct{ name, text, want string }{
		{"empty", "", "feed.csv is empty"},
		{"missing column", "local_id,given_name,birth_date\n", "the header has no family_name column"},
		{"unknown column", "local_id,given_name,family_name,birth_date,shoe_size\n", `unknown column "shoe_size"`},
		{"twice", "local_id,given_name,family_name,birth_date,given_name\n", "column given_name appears twice"},
		{"contact without id", "local_id,given_name,family_name,birth_date,contact_date\n", "no contact_id column"},
		{"not utf-8", "local_id,given_name,family_name,birth_date,\xff\n", "not UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.text), "feed.csv", "community:rio", now)
			if err == nil || apperr.KindOf(err) != apperr.Invalid || !strings.Contains(apperr.Message(err), tt.want) {
				t.Errorf("NewReader = %v; want Invalid containing %q", err, tt.want)
			}
		})
	}
}

func TestBadRowsAreSkippedWithLineAndColumn(t *testing.T) {
	text := "local_id,nhs_number,given_name,family_name,birth_date,sex,date_of_death,contact_id,contact_date,contact_type\n" +
		"B1,,Ann,Smith,1850-01-01,F,,,,\n" + // absurd birth date
		"B2,,Ann,Smith,2030-01-01,F,,,,\n" + // birth in the future
		"B3,,Ann,Smith,31/02/1950,F,,,,\n" + // not on the calendar
		"B4,,Ann\xe9,Smith,1950-01-01,F,,,,\n" + // Latin-1, not UTF-8
		"B5,,Ann,Smith,1950-01-01,F\n" + // short row
		"B6,12345,Ann,Smith,1950-01-01,F,,,,\n" + // not an NHS number
		"B7,,Ann,Smith,1950-01-01,X,,,,\n" + // unknown sex
		"B8,,Ann,Smith,1950-01-01,F,,,2025-01-01,\n" + // contact without its id
		"B9,,Ann,Smith,1950-01-01,F,,K1,2025-01-01,dentistry\n" + // unknown contact type
		"B10,,Ann,Smith,1950-01-01,F,2020-01-01,K2,2025-01-01,\n" + // contact after death
		"B11,,Ann,Smith,1950-01-01,F,1940-01-01,,,\n" + // died before birth
		",,Ann,Smith,1950-01-01,F,,,,\n" + // no id
		"B13,,,Smith,1950-01-01,F,,,,\n" + // no given name
		"B14,,Ann\x07,Smith,1950-01-01,F,,,,\n" + // control character
		"OK,,Ann,Smith,1950-01-01,F,,K3,2025-01-01,\n"
	items, errs := readAll(t, text)
	want := []string{
		"feed.csv line 2, column birth_date: before 1890-01-01: not a believable date",
		"feed.csv line 3, column birth_date: in the future: not a believable date",
		"feed.csv line 4, column birth_date: not a date: give YYYY-MM-DD or DD/MM/YYYY",
		"feed.csv line 5, column given_name: not UTF-8 text (re-export the file as UTF-8)",
		"feed.csv line 6: 6 fields where the header has 10",
		"feed.csv line 7, column nhs_number: not ten digits",
		"feed.csv line 8, column sex: give female, male, other or unknown (or F, M, O, U)",
		"feed.csv line 9, column contact_id: empty: a contact needs the system's id for it",
		"feed.csv line 10, column contact_type: give community, social_care or mental_health",
		"feed.csv line 11, column contact_date: after the date of death",
		"feed.csv line 12, column date_of_death: before the date of birth",
		"feed.csv line 13, column local_id: empty: every row needs the system's id for the person",
		"feed.csv line 14, column given_name: empty",
		"feed.csv line 15, column given_name: holds a control character",
	}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
	if len(items) != 2 || items[0].Subject != "OK" || items[1].Rows.Encounters[0].Class != record.Community {
		t.Errorf("items = %+v; want the good row's person and its community contact", items)
	}
}

func TestBrokenQuotingStopsTheFile(t *testing.T) {
	r, err := NewReader(strings.NewReader("local_id,given_name,family_name,birth_date\nA,\"Ann,Smith,1950-01-01\n"), "feed.csv", "community:rio", now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	var re *RowError
	if err == nil || errors.As(err, &re) || !strings.Contains(apperr.Message(err), "not CSV") {
		t.Errorf("Next = %v; want a file error saying it is not CSV", err)
	}
}
