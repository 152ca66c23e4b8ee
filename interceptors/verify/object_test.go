package verify

import (
	"encoding/json"
	"reflect"
	"testing"
)

// objectSeeds are headers and claims sets as providers shape them, and
// inputs at the edges of the flat subset.
var objectSeeds = []string{
	`{"alg":"ES256","kid":"k1","typ":"at+jwt"}`,
	`{"aud":["inventory","orders"],"client_id":"c","exp":1796248677,"iat":1796248377,"iss":"https://i","jti":"0","nbf":1796248377,"scope":"a b","sub":"c"}`,
	`{"scp":["a","b"],"azp":"x","ver":"2.0","tid":"t","oid":"o","roles":[]}`,
	`{"realm_access":{"roles":["r"]},"exp":1}`, // nested: encoding/json's
	` { "a" : "b" , "c" : [ "d" , "e" ] , "f" : -0.5e+3 , "g" : true , "h" : false , "i" : null } `,
	`{"a":"\u00e9"}`, `{"a":"é"}`, `{"a":"\"x"}`, `{"a":1e999}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`,
	`{"a":"b","a":"c"}`, `{}`, `null`, `[]`, `{"a":[1]}`, `{"a":["b",]}`, `{"a":"b",}`, `{"a":"b"}x`, `{"a" "b"}`,
	`{"a":tru}`, `{"a":"b"` + "\x00" + `}`, `{"a":"\xff"}`, "{\"a\":\"b\tc\"}",
}

// The flat parser accepts only what encoding/json accepts, and decodes it
// to exactly what encoding/json does.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range objectSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgainstEncodingJSON(t, b)
	})
}

func TestDecodeObjectAgreesWithEncodingJSON(t *testing.T) {
	flat := 0
	for _, s := range objectSeeds {
		if checkAgainstEncodingJSON(t, []byte(s)) {
			flat++
		}
	}
	if flat < 4 { // the typical shapes must take the fast path
		t.Errorf("only %d seeds parsed flat", flat)
	}
}

// checkAgainstEncodingJSON compares decodeObject with json.Unmarshal on b
// and reports whether the flat parser handled it.
func checkAgainstEncodingJSON(t *testing.T, b []byte) bool {
	t.Helper()
	var want map[string]any
	wantErr := json.Unmarshal(b, &want)
	got, err := decodeObject(b)
	if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeObject(%q) = %#v, %v; encoding/json gives %#v, %v", b, got, err, want, wantErr)
	}
	flat, ok := parseFlatObject(b)
	if ok && (wantErr != nil || !reflect.DeepEqual(flat, want)) {
		t.Fatalf("flat parse of %q = %#v; encoding/json gives %#v, %v", b, flat, want, wantErr)
	}
	return ok
}
