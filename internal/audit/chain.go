package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// GenesisHash is the Prev of the first entry, and the head of an empty log.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// encodingTag is the first field of the canonical encoding. Changing any
// field, its order or its rendering needs a new tag.
const encodingTag = "wholecare-audit-v1"

// Head is the end of the chain: the last entry's seq and hash. An empty log's
// head is {0, GenesisHash}.
type Head struct {
	Seq  int64
	Hash string
}

// EmptyHead is the head of a log with no entries.
var EmptyHead = Head{Seq: 0, Hash: GenesisHash}

// String renders the head as SEQ:HASH, the form ParseHead reads and
// `wholecare audit verify --expect-head` takes.
func (h Head) String() string { return strconv.FormatInt(h.Seq, 10) + ":" + h.Hash }

// ParseHead reads SEQ:HASH, or a bare HASH when the seq is not known.
func ParseHead(s string) (Head, error) {
	seqText, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		seqText, hash = "", seqText
	}
	hash = strings.ToLower(hash)
	var h Head
	if seqText != "" {
		n, err := strconv.ParseInt(seqText, 10, 64)
		if err != nil || n < 0 {
			return Head{}, apperr.Ef(apperr.Invalid, "audit head %q: the seq before the colon is not a number", s)
		}
		h.Seq = n
	}
	if !isHash(hash) {
		return Head{}, apperr.Ef(apperr.Invalid, "audit head %q: want SEQ:HASH or HASH, the hash being 64 hex digits", s)
	}
	h.Hash = hash
	return h, nil
}

// ComputeHash is the hash an entry must carry:
//
//	hex(SHA-256(Prev || canonical(e)))
//
// where Prev is taken as its 64 ASCII hex digits and canonical(e) is a
// sequence of fields, each written as its length in bytes (4 bytes, big
// endian) followed by its bytes:
//
//	"wholecare-audit-v1", Seq, At, UserID, UserName, Role, OrgID, PersonID,
//	Action, ResourceType, Purpose, Basis, Outcome, Reason, Detail
//
// Integers are in decimal; At is in UTC as RFC 3339 with as many fraction
// digits as it needs (time.RFC3339Nano). The length prefixes make the
// encoding unambiguous: no two different entries encode alike, whatever
// their text holds. Every field but Hash is covered, Seq included, so an
// entry cannot be moved to another place in the chain without its hash
// changing.
func (e Event) ComputeHash() string {
	h := sha256.New()
	h.Write([]byte(e.Prev))
	h.Write(appendCanonical(make([]byte, 0, 256), e))
	return hex.EncodeToString(h.Sum(nil))
}

func appendCanonical(b []byte, e Event) []byte {
	field := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	num := func(n int64) {
		var buf [20]byte
		field(string(strconv.AppendInt(buf[:0], n, 10)))
	}
	field(encodingTag)
	num(e.Seq)
	field(e.At.UTC().Format(time.RFC3339Nano))
	num(e.UserID)
	field(e.UserName)
	field(e.Role)
	field(e.OrgID)
	num(e.PersonID)
	field(e.Action)
	field(e.ResourceType)
	field(e.Purpose)
	field(e.Basis)
	field(e.Outcome)
	field(e.Reason)
	field(e.Detail)
	return b
}

// Chain links events onto head: it gives them the next seqs, sets each
// one's At to UTC microseconds (what a store keeps), Prev and Hash, and
// returns them with the new head. The events must be valid and not yet
// chained. A store calls it inside the transaction that read head.
func Chain(head Head, events []Event) ([]Event, Head, error) {
	if head.Seq < 0 || !isHash(head.Hash) {
		return nil, head, apperr.Ef(apperr.Internal, "audit: the stored head %q is not a head", head.String())
	}
	out := make([]Event, len(events))
	for i, e := range events {
		if e.Seq != 0 || e.Prev != "" || e.Hash != "" {
			return nil, head, apperr.Ef(apperr.Invalid, "audit: event %d of the batch is already chained", i)
		}
		if err := e.Valid(); err != nil {
			return nil, head, err
		}
		e.Seq = head.Seq + 1
		e.At = e.At.UTC().Truncate(time.Microsecond)
		e.Prev = head.Hash
		e.Hash = e.ComputeHash()
		head = Head{Seq: e.Seq, Hash: e.Hash}
		out[i] = e
	}
	return out, head, nil
}
