package client

// MaxQuickReconnects is maxQuickReconnects, for the tests of package
// client_test.
const MaxQuickReconnects = maxQuickReconnects
