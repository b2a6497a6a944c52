package protocol

// Code is a stable, machine-readable error code. Clients branch on codes;
// messages are for people and may change.
type Code string

// Error codes. Internal errors are logged on the server and reach clients
// only as CodeInternal with a generic message.
const (
	CodeBadFrame        Code = "bad_frame"        // not a decodable frame
	CodeTooLarge        Code = "too_large"        // frame or batch over a limit
	CodeUnknownType     Code = "unknown_type"     // message type this server does not know
	CodeUpgradeRequired Code = "upgrade_required" // protocol or frame version not spoken here
	CodeBadRequest      Code = "bad_request"      // a message out of place (push before hello)
	CodeUnauthorized    Code = "unauthorized"     // no valid session
	CodeForbidden       Code = "forbidden"        // not a member of the space, or role may not write
	CodeInvalid         Code = "invalid"          // op fails validation
	CodeConflictLimit   Code = "conflict_limit"   // field has too many unresolved conflicts
	CodeRateLimited     Code = "rate_limited"     // slow down
	CodeSlowConsumer    Code = "slow_consumer"    // the client did not read fast enough
	CodeUnavailable     Code = "unavailable"      // server cannot take writes now (disk full, shutting down)
	CodeInternal        Code = "internal"         // something broke on our side

	// Device and clock codes: the client recovers from each by itself.
	CodeDeviceTaken  Code = "device_taken"         // hello's device id belongs to another person: pick a new one
	CodeDeviceLimit  Code = "device_limit"         // this user holds too many device ids in live sessions
	CodeClockAhead   Code = "clock_ahead"          // op's clock too far ahead of the server's: restamp with server time
	CodeClockReused  Code = "clock_reused"         // op's (device, clock) is not newer than what the server holds: restamp
	CodeQuota        Code = "quota_exceeded"       // the person or the plan is over its storage quota
	CodeUnreadable   Code = "unreadable"           // the stored record is quarantined (undecodable); the op is kept by the client
	CodeTooManyConns Code = "too_many_connections" // over a connection cap (address, user, session, process)
	// CodeAccessChanged closes a socket whose user's memberships changed
	// (removed from a space, another role): the client reconnects (its
	// first backoff after a healthy connection is under 250 ms) and its
	// welcome lists the spaces and roles it has now. Clients that do not
	// know the code read it as internal, which they retry the same way.
	CodeAccessChanged Code = "access_changed"
	// CodeTooManyInvites refuses a new invite to a space holding as many
	// open invites as the server allows (HTTP API only).
	CodeTooManyInvites Code = "too_many_invites"
)

// Status maps a code to an HTTP status and a WebSocket close code: the one
// table both the server (sending) and clients (reading) use.
type Status struct {
	HTTP  int
	Close int
	// Retry says a client should retry the same thing later, unchanged.
	Retry bool
}

var statuses = map[Code]Status{
	CodeBadFrame:        {HTTP: 400, Close: 1007},
	CodeTooLarge:        {HTTP: 413, Close: 1009},
	CodeUnknownType:     {HTTP: 400, Close: 1003},
	CodeUpgradeRequired: {HTTP: 426, Close: 4426},
	CodeBadRequest:      {HTTP: 400, Close: 1008},
	CodeUnauthorized:    {HTTP: 401, Close: 4401},
	CodeForbidden:       {HTTP: 403, Close: 4403},
	CodeInvalid:         {HTTP: 422, Close: 1008},
	CodeConflictLimit:   {HTTP: 409, Close: 1008},
	CodeRateLimited:     {HTTP: 429, Close: 4429, Retry: true},
	CodeSlowConsumer:    {HTTP: 503, Close: 4408, Retry: true},
	CodeUnavailable:     {HTTP: 503, Close: 1013, Retry: true},
	CodeInternal:        {HTTP: 500, Close: 1011, Retry: true},
	CodeDeviceTaken:     {HTTP: 409, Close: 4409},
	CodeDeviceLimit:     {HTTP: 409, Close: 4410},
	CodeClockAhead:      {HTTP: 409, Close: 1008},
	CodeClockReused:     {HTTP: 409, Close: 1008},
	CodeQuota:           {HTTP: 507, Close: 4507},
	CodeUnreadable:      {HTTP: 500, Close: 1011},
	CodeTooManyConns:    {HTTP: 429, Close: 4430, Retry: true},
	CodeAccessChanged:   {HTTP: 409, Close: 4412, Retry: true},
	CodeTooManyInvites:  {HTTP: 409},
}

// StatusOf returns the status for a code; unknown codes count as internal.
func StatusOf(c Code) Status {
	if s, ok := statuses[c]; ok {
		return s
	}
	return statuses[CodeInternal]
}

// CodeForClose maps a WebSocket close code back to an error code.
func CodeForClose(close int) (Code, bool) {
	for c, s := range statuses {
		if s.Close == close && close >= 4000 {
			return c, true
		}
	}
	return "", false
}

// Errorf builds an Error message.
func Errorf(c Code, msg string) *Error { return &Error{Code: c, Message: msg} }
