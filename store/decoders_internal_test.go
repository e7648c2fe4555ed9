package store

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestDecodersFollowColumnsAndConnection: a join's decoding plans are made once per connection and
// reused, and made again when the columns' types or the destinations' types change or the
// connection is another one (plans belong to their connection's type map).
func TestDecodersFollowColumnsAndConnection(t *testing.T) {
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		t.Skip("TEST_DATABASE_URL names no PostgreSQL server")
	}
	ctx := context.Background()
	connect := func() *pgx.Conn {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close(ctx) })
		return conn
	}
	var d decoders
	join := &joinPlan{}
	// read runs query on conn and decodes its one row into dest with d's plans for join.
	read := func(conn *pgx.Conn, query string, dest ...any) []pgtype.ScanPlan {
		t.Helper()
		rows, err := conn.Query(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatalf("%s: no row: %v", query, rows.Err())
		}
		plans := d.of(join, rows, dest)
		if err := scanRow(rows, plans, dest); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return plans
	}
	first := connect()
	var s string
	var n int64
	a := read(first, "SELECT 'one'::text, 1::int8", &s, &n)
	b := read(first, "SELECT 'two'::text, 2::int8", &s, &n)
	if &a[0] != &b[0] || s != "two" || n != 2 {
		t.Fatalf("second read: plans reused %v, decoded %q %d; want reused, two 2", &a[0] == &b[0], s, n)
	}
	var f float64
	c := read(first, "SELECT 'three'::text, 3.5::float8", &s, &f)
	if &c[0] == &b[0] || s != "three" || f != 3.5 {
		t.Fatalf("read with another column type: plans remade %v, decoded %q %v; want remade, three 3.5", &c[0] != &b[0], s, f)
	}
	// The same columns into destinations of another type: made again, not the int8 plan reused.
	var i32 int32
	g := read(first, "SELECT 'three'::text, 3::int8", &s, &n)
	h := read(first, "SELECT 'three'::text, 33::int8", &s, &i32)
	if &h[1] == &g[1] || i32 != 33 {
		t.Fatalf("read into another type: plans remade %v, decoded %d; want remade, 33", &h[1] != &g[1], i32)
	}
	other := connect()
	e := read(other, "SELECT 'four'::text, 4.5::float8", &s, &f)
	if &e[0] == &c[0] || s != "four" || f != 4.5 {
		t.Fatalf("read on another connection: plans remade %v, decoded %q %v; want remade, four 4.5", &e[0] != &c[0], s, f)
	}
	// A nil destination is skipped, as pgx's own Scan skips it.
	s = "kept"
	read(other, "SELECT 'five'::text, 5.5::float8", nil, &f)
	if s != "kept" || f != 5.5 {
		t.Fatalf("nil destination: got %q %v, want kept 5.5", s, f)
	}
}
