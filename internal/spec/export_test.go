package spec

// The two halves of Parse, for the tests that compare them (fast_test.go).
var (
	ParseFast = parseFast
	ParseSlow = parseSlow
)
