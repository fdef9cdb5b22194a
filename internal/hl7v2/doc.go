// Package hl7v2 is Wholecare's HL7 version 2 edge: a parser for ER7
// ("pipe and hat") messages, their encoder, acknowledgements (ACK) and the
// extraction of ADT patient-administration events (admit, transfer,
// discharge, registration, update, cancel, merge) into ingest items.
//
// Parsing is strict about structure (an MSH first, declared delimiters,
// three-character segment names, size and segment limits) and lenient about
// what receivers commonly meet: CR, LF or CRLF segment terminators, a UTF-8
// byte-order mark, empty lines. Values are kept as received and decoded
// (escape sequences, ISO 8859-1 when MSH-18 says so) only when read, so that
// Encode gives back what was parsed.
//
// Messages carry person-identifiable data. This package must never log or
// put field contents (names, identifiers, dates, free text) in an error:
// errors say what is wrong and where (segment position and name, field
// number) and nothing of the value. It never panics on any input, and it
// imports only the standard library and Wholecare's apperr, ingest, record
// and registry packages. The MLLP transport lives in the mllp subpackage.
package hl7v2
