package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReconcilePass(t *testing.T) {
	m := New()
	m.ReconcilePass(3, 1, 2, 4, 5, 6)
	m.ReconcilePass(1, 0, 0, 0, 0, 2)
	for result, want := range map[string]float64{"confirmed": 4, "restored": 1, "failed": 2, "abandoned": 4} {
		if got := testutil.ToFloat64(m.reconciled.WithLabelValues(result)); got != want {
			t.Errorf("tollgate_orders_reconciled_total{result=%q} = %v, want %v", result, got, want)
		}
	}
	if got := testutil.ToFloat64(m.backlog); got != 2 {
		t.Errorf("backlog = %v, want the last pass's 2", got)
	}
	if got := testutil.ToFloat64(m.passes); got != 2 {
		t.Errorf("passes = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.pending); got != 0 {
		t.Errorf("pending = %v, want the last pass's 0", got)
	}
}
