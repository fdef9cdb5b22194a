package ingest

import "time"

// MessageStatus is where a received message stands.
type MessageStatus string

const (
	MessageReceived MessageStatus = "received" // logged, not yet applied (a crash here is replayed)
	MessageApplied  MessageStatus = "applied"  // applied and acknowledged AA
	MessageError    MessageStatus = "error"    // parsed but could not be applied: AE
	MessageRejected MessageStatus = "rejected" // could not be parsed: AR
)

// Message is one entry of the message log: a message exactly as received,
// and what Wholecare answered. The log is how an operator inspects and
// replays a feed; it holds person data and is shown only to administrators.
type Message struct {
	ID              int64
	ReceivedAt      time.Time
	Peer            string // the sender's address
	SendingApp      string
	SendingFacility string
	ControlID       string // MSH-10; "" when it could not be read
	MessageType     string // e.g. "ADT^A01"
	Raw             []byte
	Status          MessageStatus
	AckCode         string // AA, AE, AR; "" until answered
	Ack             []byte
	Error           string // why it was not applied; never person data
	AppliedAt       time.Time
}

// MessageFilter selects log entries, newest first.
type MessageFilter struct {
	Status   MessageStatus // "" for all
	BeforeID int64         // 0 for the newest
	Limit    int
}
