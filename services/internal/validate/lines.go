// Package validate checks what the services' requests carry: SKUs and order
// lines, recording each violation for a google.rpc.BadRequest.
package validate

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/tollgate-rpc/tollgate/internal/rpcerr"
)

var sku = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// SKURule is what a well-formed SKU is, as a violation describes it.
const SKURule = "must be 1-64 characters of [A-Za-z0-9._-]"

// SKU reports whether s is a well-formed SKU.
func SKU(s string) bool { return sku.MatchString(s) }

// CheckSKU records a violation of field when s is not a well-formed SKU.
func CheckSKU(f *rpcerr.Fields, field, s string) {
	if !SKU(s) {
		f.Add(field, SKURule)
	}
}

// Limits of an order, checked at the edge by every RPC that takes order
// lines (PlaceOrder, Reserve). With them no sum of a request's quantities
// can come near overflowing an int64 (100 × 10⁹ < 2⁶³), and the stores
// check their arithmetic as well.
const (
	MaxLines        = 100
	MaxLineQuantity = 1_000_000_000
)

// Line is one order line as a request carries it.
type Line interface {
	GetSku() string
	GetQuantity() int64
}

// Lines records what is wrong with an order's lines: none, too many, a
// malformed SKU, a quantity outside [1, MaxLineQuantity], or a SKU listed
// twice (named, so the caller can merge the lines).
func Lines[L Line](f *rpcerr.Fields, lines []L) {
	switch {
	case len(lines) == 0:
		f.Add("lines", "must not be empty")
		return
	case len(lines) > MaxLines:
		f.Add("lines", fmt.Sprintf("at most %d lines", MaxLines))
		return
	}
	first := make(map[string]int, len(lines))
	for i, l := range lines {
		at := "lines[" + strconv.Itoa(i) + "]"
		if !SKU(l.GetSku()) {
			f.Add(at+".sku", SKURule)
		} else if j, dup := first[l.GetSku()]; dup {
			f.Add(at+".sku", fmt.Sprintf("SKU %s is already on line %d; put its whole quantity on one line", l.GetSku(), j))
		} else {
			first[l.GetSku()] = i
		}
		if q := l.GetQuantity(); q < 1 || q > MaxLineQuantity {
			f.Add(at+".quantity", fmt.Sprintf("must be between 1 and %d", MaxLineQuantity))
		}
	}
}
