package server_test

import (
	"database/sql"
	"testing"
)

// TestReadinessWhenPoolSaturated holds every pooled connection in an open transaction, as slow
// queries would: /readyz still answers 200 and says the database is "saturated", not "unreachable"
// (an unreachable database is TestReadinessWhenDatabaseIsDown, and internal/e2e's TestFailover on a
// PostgreSQL that stops).
func TestReadinessWhenPoolSaturated(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		pool, err := e.store.DB().DB()
		if err != nil {
			t.Fatal(err)
		}
		var held []*sql.Tx
		for range pool.Stats().MaxOpenConnections {
			tx, err := pool.BeginTx(ctx, nil)
			if err != nil {
				t.Fatalf("hold a connection: %v", err)
			}
			held = append(held, tx)
		}
		ready, err := e.client.GetReadinessWithResponse(ctx)
		if err != nil || ready.JSON200 == nil || ready.JSON200.Database != "saturated" || ready.JSON200.Status != "ready" {
			t.Errorf("GET /readyz with every pooled connection busy = %v %d %s, want 200 ready, database saturated", err, ready.StatusCode(), ready.Body)
		}
		for _, tx := range held {
			_ = tx.Rollback()
		}
		ready, err = e.client.GetReadinessWithResponse(ctx)
		if err != nil || ready.JSON200 == nil || ready.JSON200.Database != "ok" {
			t.Errorf("GET /readyz once the connections are free = %v %d %s, want 200 database ok", err, ready.StatusCode(), ready.Body)
		}
	})
}
