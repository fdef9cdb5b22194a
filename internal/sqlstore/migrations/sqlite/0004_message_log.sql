-- 0004 message log: every HL7 v2 message received, good or bad, kept as
-- received, with what Wholecare answered. A message is logged (committed)
-- before it is applied and before its ACK is sent; a repeated control id
-- from the same sender gets the stored ACK again and is applied once.

CREATE TABLE hl7_messages (
    id               INTEGER PRIMARY KEY,
    received_at      TEXT    NOT NULL,
    peer             TEXT    NOT NULL,
    sending_app      TEXT    NOT NULL,
    sending_facility TEXT    NOT NULL,
    control_id       TEXT    NOT NULL,
    message_type     TEXT    NOT NULL,
    raw              TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('received', 'applied', 'error', 'rejected')),
    ack_code         TEXT    NOT NULL,
    ack              TEXT    NOT NULL,
    error            TEXT    NOT NULL,
    applied_at       TEXT
);
CREATE UNIQUE INDEX hl7_messages_control_id ON hl7_messages (sending_app, sending_facility, control_id) WHERE control_id <> '';
CREATE INDEX hl7_messages_status ON hl7_messages (status, id);
