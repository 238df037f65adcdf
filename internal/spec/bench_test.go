package spec

import (
	"encoding/json"
	"testing"
)

func BenchmarkParseDefault(b *testing.B) {
	data, _ := json.Marshal(Default(true, nil, nil))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c, err := Parse("config.json", data)
		if err != nil {
			b.Fatal(err)
		}
		if err := Validate(c); err != nil {
			b.Fatal(err)
		}
	}
}
