//go:build js && wasm

package main

import (
	"context"
	"errors"

	"github.com/plansync/plansync/client"
	"github.com/plansync/plansync/client/idbstore"
	"github.com/plansync/plansync/shared/protocol"
)

// Codes the JS API rejects with besides the protocol's and the server
// API's (not_found, exists). API.md lists them all.
const (
	CodeNetwork      protocol.Code = "network"             // the server could not be reached
	CodeSignedOut    protocol.Code = "signed_out"          // no one is signed in on this device
	CodeNotOpen      protocol.Code = "not_open"            // open() has not finished
	CodeOutboxFull   protocol.Code = "outbox_full"         // too many edits waiting to sync
	CodeStorageFull  protocol.Code = "storage_full"        // the browser refused to store more
	CodeStorageLost  protocol.Code = "storage_lost"        // the browser deleted the local data; the app starts over
	CodeNoStorage    protocol.Code = "storage_unavailable" // no IndexedDB (private mode, storage disabled)
	CodeTimeout      protocol.Code = "timeout"             // the call took too long
	CodeNotFound     protocol.Code = "not_found"           // no such record or field
	CodeUserChanged                = client.CodeUserChanged
	codeInvalidValue               = protocol.CodeInvalid
)

// apiError is an error with the code and message the UI shows.
type apiError struct {
	Code    protocol.Code
	Message string
}

func (e *apiError) Error() string { return string(e.Code) + ": " + e.Message }

func errorf(code protocol.Code, msg string) *apiError { return &apiError{Code: code, Message: msg} }

// classify gives every error a code and an English message a person can
// act on. Errors not known here are "internal", with their text, which is
// the app's own (never a server's internals: the server sends only codes
// and messages meant to be shown).
func classify(err error) *apiError {
	var ae *apiError
	var pe *protocol.Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &pe):
		return &apiError{Code: pe.Code, Message: pe.Message}
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(CodeTimeout, "This took too long. Try again.")
	case errors.Is(err, client.ErrNotFound):
		return errorf(CodeNotFound, "That item is not on this device (it may have been deleted).")
	case errors.Is(err, client.ErrOutboxFull):
		return errorf(CodeOutboxFull, "Too many changes are waiting to sync. Connect to the internet so they can be sent.")
	case errors.Is(err, client.ErrReserved):
		return errorf(codeInvalidValue, "That field can only be changed with remove() or resolve().")
	case errors.Is(err, client.ErrClosed):
		return errorf(CodeNotOpen, "The app is not ready yet (call open() first).")
	case errors.Is(err, idbstore.ErrFull):
		return errorf(CodeStorageFull, "This device has no room left to save changes. Free some space and try again.")
	case errors.Is(err, idbstore.ErrLost):
		return errorf(CodeStorageLost, "The browser deleted this app's data on this device. It is being downloaded again.")
	case errors.Is(err, idbstore.ErrUnavailable):
		return errorf(CodeNoStorage, "This browser does not let the app save data (private browsing?). Open it in a normal window.")
	case errors.Is(err, errBadValue):
		return errorf(codeInvalidValue, err.Error())
	}
	return errorf(protocol.CodeInternal, err.Error())
}

// toJSError builds the Error a promise rejects with: .message in English,
// .code machine-readable.
func toJSError(err error) any {
	ae := classify(err)
	e := jsError.New(ae.Message)
	e.Set("code", string(ae.Code))
	return e
}
