package validate

import (
	"math"
	"strings"
	"testing"

	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/rpcerr"
)

func TestLines(t *testing.T) {
	line := func(sku string, q int64) *ordersv1.OrderLine { return &ordersv1.OrderLine{Sku: sku, Quantity: q} }
	many := make([]*ordersv1.OrderLine, MaxLines+1)
	for i := range many {
		many[i] = line("s"+strings.Repeat("x", i%60), 1)
	}
	for _, tc := range []struct {
		name  string
		lines []*ordersv1.OrderLine
		want  string // a field and part of its description; "" for none
	}{
		{"ok", []*ordersv1.OrderLine{line("a", 1), line("b", MaxLineQuantity)}, ""},
		{"empty", nil, "lines: must not be empty"},
		{"too many", many, "lines: at most 100"},
		{"the issue's wrap", []*ordersv1.OrderLine{line("gizmo-3", math.MaxInt64), line("gizmo-3", math.MaxInt64), line("gizmo-3", 2)},
			"lines[1].sku: SKU gizmo-3 is already on line 0"},
		{"too large", []*ordersv1.OrderLine{line("a", MaxLineQuantity+1)}, "lines[0].quantity: must be between 1 and"},
		{"zero", []*ordersv1.OrderLine{line("a", 0)}, "lines[0].quantity"},
		{"negative", []*ordersv1.OrderLine{line("a", math.MinInt64)}, "lines[0].quantity"},
		{"bad sku", []*ordersv1.OrderLine{line("a b", 1)}, "lines[0].sku: must be 1-64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f rpcerr.Fields
			Lines(&f, tc.lines)
			var got []string
			for _, v := range f {
				got = append(got, v.GetField()+": "+v.GetDescription())
			}
			all := strings.Join(got, "\n")
			if tc.want == "" && len(f) > 0 || tc.want != "" && !strings.Contains(all, tc.want) {
				t.Errorf("CheckLines = %q, want %q", all, tc.want)
			}
		})
	}
}
