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

// Delivery is one received message for Service.Receive, which logs,
// applies and answers a batch of them in one store transaction (a group
// commit) while each keeps its own outcome.
type Delivery struct {
	// Entry is the log entry. With ID 0 it is logged first, unless the
	// sender already sent its control id: then the earlier entry stands
	// and, when it was answered, nothing is done. An entry whose Status is
	// not MessageReceived is already answered (an AR for a message that
	// does not parse): it is logged as it is. With an ID, the logged
	// message is applied again (a replay) and its outcome replaced.
	Entry Message

	// Refused, when set, is why the message cannot be applied although
	// it parsed: nothing is applied and Answer(Refused) is recorded.
	Refused error

	// Items are applied atomically (one failing item refuses the
	// message and leaves nothing of it), then Merge.
	Items []Item
	Merge *Merge

	// Answer is the reply to record and send for the outcome: err is nil
	// when the message was applied, else what refused it. It must be
	// quick; it runs inside the batch's transaction.
	Answer func(err error) Answer
}

// Answer is what Wholecare replies to a message.
type Answer struct {
	Status  MessageStatus
	AckCode string
	Ack     []byte
	Error   string // never person data
}

// Receipt is what became of one Delivery.
type Receipt struct {
	// Entry is the log entry as committed: its ID, status and ACK.
	Entry Message
	// Duplicate means the control id was answered before: Entry is the
	// earlier entry and nothing was applied.
	Duplicate bool
	// Err is set when the store failed while applying the message
	// (Unavailable or Internal): it stays logged as received, unanswered,
	// for the sender's retry or a replay.
	Err error
}
