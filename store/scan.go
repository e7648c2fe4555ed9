package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"gorm.io/gorm/schema"
)

// joinPlan reads the rows of a join straight from database/sql into a struct with one field per
// joined model. Authentication runs such a join on every request, and GORM's generic per-row
// scanning (a pooled value and a reflective Set per column) cost about as much CPU as the query's
// round trip; here the destinations are the fields themselves, located once from GORM's schema.
type joinPlan struct {
	query  *rawQuery // SELECT alias.column, ... (read by position) followed by the rest of the query
	table  string    // the first model's table, the one a query count names
	fields []planField
	// buffers pools the *joinBuffers of this join's reads (see scanJoin).
	buffers sync.Pool
}

type planField struct {
	index []int // path of the field in the row struct
	// outer: the model is on the outer side of a LEFT JOIN, so a column the field cannot hold as
	// nil may be NULL; it then keeps the zero value.
	outer bool
	once  bool // the field's model is one of the once models
}

// joined names one model of a join: the row struct's field holding it, its table alias, and
// whether it is on the outer side of a LEFT JOIN.
type joined struct {
	field string
	alias string
	outer bool
	// only, when set, are the columns read (the model's other fields keep their zero values);
	// otherwise every column of the model.
	only []string
	// once: the model is the same in every row (the query selects one of it, as the user of an
	// account or the key of a key's accounts): its columns are decoded from the first row only.
	once bool
}

// newJoinPlan plans rows of type R (a struct whose named fields are models) for the query
// "SELECT <every column of parts> " + rest, where rest names the tables by the parts' aliases.
// Columns come from GORM's schema with GORM's default naming, which the store uses. It panics on a
// mistake: the models and queries are fixed at build time, and tests compare the rows with GORM's.
func newJoinPlan[R any](rest string, parts ...joined) *joinPlan {
	rowType := reflect.TypeFor[R]()
	p := &joinPlan{}
	var cols []string
	for _, part := range parts {
		sf, ok := rowType.FieldByName(part.field)
		if !ok {
			panic(fmt.Sprintf("join plan: %s has no field %s", rowType, part.field))
		}
		sch, err := schema.Parse(reflect.New(sf.Type).Interface(), &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			panic(err)
		}
		if p.table == "" {
			p.table = sch.Table
		}
		names := sch.DBNames
		if part.only != nil {
			names = part.only
		}
		for _, name := range names {
			field, ok := sch.FieldsByDBName[name]
			if !ok {
				panic(fmt.Sprintf("join plan: %s has no column %s", sch.Table, name))
			}
			cols = append(cols, part.alias+"."+name)
			index := append(append([]int{}, sf.Index...), field.StructField.Index...)
			p.fields = append(p.fields, planField{index: index, outer: part.outer, once: part.once})
		}
	}
	p.query = newRawQuery("SELECT " + strings.Join(cols, ", ") + " " + rest)
	return p
}

// scan reads the current row into row (a pointer to the planned struct type), through dest (one
// entry per column).
func (p *joinPlan) scan(rows *sql.Rows, row any, dest []any) error {
	p.destinations(row, dest, false)
	return rows.Scan(dest...)
}

// readPgx runs a planned join on a connection of pool and reads every row with pgx's own scanning,
// straight into the row structs' fields: database/sql would first turn each column into a boxed
// driver.Value and then convert it again into the field, which cost the hottest reads about a
// fifth of their CPU. Every row is read before any is handed on, so a connection lost halfway
// through fails here, where the read is tried once more on a fresh connection (retryingConn.readPgx).
func readPgx[R any](ctx context.Context, s *Store, pool *sql.DB, plan *joinPlan, arg any, b *joinBuffers[R]) error {
	if s.onQuery != nil {
		s.onQuery(plan.table)
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		c := driverConn.(*retryingConn)
		return c.readPgx(ctx, plan.query.postgres, arg, func(rows pgx.Rows) error {
			b.rows = b.rows[:0] // a second attempt starts over
			var decode []pgtype.ScanPlan
			for rows.Next() {
				b.rows = append(b.rows, *new(R))
				plan.destinations(&b.rows[len(b.rows)-1], b.dest, len(b.rows) > 1)
				if decode == nil {
					if n := len(rows.FieldDescriptions()); n != len(b.dest) {
						return fmt.Errorf("join plan: %d columns for %d destinations", n, len(b.dest))
					}
					decode = c.decoders.of(plan, rows, b.dest)
				}
				if err := scanRow(rows, decode, b.dest); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	})
}

// scanRow decodes the current row into dest (nil entries are skipped) with the plans of decode, as
// pgx's rows.Scan would with plans of its own.
func scanRow(rows pgx.Rows, decode []pgtype.ScanPlan, dest []any) error {
	values := rows.RawValues()
	for i, d := range dest {
		if d == nil {
			continue
		}
		if err := decode[i].Scan(values[i], d); err != nil {
			return pgx.ScanArgError{ColumnIndex: i, FieldName: rows.FieldDescriptions()[i].Name, Err: err}
		}
	}
	return nil
}

// decoders keeps, per connection, the plans that decode each join's columns into its row struct.
// pgx plans every column again for every query (about 30 of them per authenticated request, a
// quarter of its allocations), though for a join they only depend on the columns' types and the
// fields they land in, which are fixed: the plans are made once per connection and join, and made
// again should the columns' types or the connection change. A plan decodes; it holds no data.
type decoders struct {
	conn  *pgx.Conn
	plans map[*joinPlan]*decoding
}

type decoding struct {
	oids    []uint32
	formats []int16
	types   []reflect.Type // of the destinations the plans were made for
	plans   []pgtype.ScanPlan
}

// of returns the plans for the current row's columns, decoded into dest: the first row of a read,
// whose dest has no nil entry (later rows skip the once models' columns).
func (d *decoders) of(plan *joinPlan, rows pgx.Rows, dest []any) []pgtype.ScanPlan {
	if d.conn != rows.Conn() {
		d.conn, d.plans = rows.Conn(), map[*joinPlan]*decoding{}
	}
	fields := rows.FieldDescriptions()
	if known := d.plans[plan]; known != nil && known.matches(fields, dest) {
		return known.plans
	}
	m := rows.Conn().TypeMap()
	made := &decoding{oids: make([]uint32, len(fields)), formats: make([]int16, len(fields)),
		types: make([]reflect.Type, len(fields)), plans: make([]pgtype.ScanPlan, len(fields))}
	for i, f := range fields {
		made.oids[i], made.formats[i], made.types[i] = f.DataTypeOID, f.Format, reflect.TypeOf(dest[i])
		made.plans[i] = m.PlanScan(f.DataTypeOID, f.Format, dest[i])
	}
	d.plans[plan] = made
	return made.plans
}

// matches reports whether the plans were made for these columns into destinations of these types.
func (k *decoding) matches(fields []pgconn.FieldDescription, dest []any) bool {
	if len(fields) != len(k.plans) || len(dest) != len(k.plans) {
		return false
	}
	for i, f := range fields {
		if f.DataTypeOID != k.oids[i] || f.Format != k.formats[i] || reflect.TypeOf(dest[i]) != k.types[i] {
			return false
		}
	}
	return true
}

// orZero wraps a destination that cannot hold NULL so that NULL leaves it at its zero value. The
// wrappers read a value both as database/sql hands it over (sql.Scanner) and as pgx decodes it (its
// scanner interfaces, which pgx prefers: no value is boxed on the way).
func orZero(dest any) sql.Scanner {
	switch d := dest.(type) {
	case *string:
		return nullString{d}
	case *bool:
		return nullBool{d}
	case *time.Time:
		return nullTime{d}
	case *int64:
		return nullInt64{d}
	}
	panic(fmt.Sprintf("join plan: no NULL handling for %T", dest))
}

type (
	nullString struct{ dst *string }
	nullBool   struct{ dst *bool }
	nullTime   struct{ dst *time.Time }
	nullInt64  struct{ dst *int64 }
)

func (n nullString) Scan(src any) error { return scanOrZero(n.dst, src) }
func (n nullBool) Scan(src any) error   { return scanOrZero(n.dst, src) }
func (n nullTime) Scan(src any) error   { return scanOrZero(n.dst, src) }
func (n nullInt64) Scan(src any) error  { return scanOrZero(n.dst, src) }

func scanOrZero[T any](dst *T, src any) error {
	var v sql.Null[T]
	if err := v.Scan(src); err != nil {
		return err
	}
	*dst = v.V
	return nil
}

func (n nullString) ScanText(v pgtype.Text) error {
	*n.dst = v.String // "" when NULL
	return nil
}

func (n nullInt64) ScanInt64(v pgtype.Int8) error {
	*n.dst = v.Int64 // 0 when NULL
	return nil
}

func (n nullBool) ScanBool(v pgtype.Bool) error {
	*n.dst = v.Bool // false when NULL
	return nil
}

func (n nullTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	return n.scanTime(v.Time, v.Valid, v.InfinityModifier)
}
func (n nullTime) ScanTimestamp(v pgtype.Timestamp) error {
	return n.scanTime(v.Time, v.Valid, v.InfinityModifier)
}

func (n nullTime) scanTime(t time.Time, valid bool, inf pgtype.InfinityModifier) error {
	if valid && inf != pgtype.Finite {
		return fmt.Errorf("join plan: cannot read an infinite timestamp into %T", n.dst)
	}
	*n.dst = t // the zero time when NULL
	return nil
}

// destinations points dest at the fields of row (a pointer to the planned struct type), in the
// order of the query's columns. With skipOnce, the once models' columns get nil (which pgx skips).
func (p *joinPlan) destinations(row any, dest []any, skipOnce bool) {
	v := reflect.ValueOf(row).Elem()
	for i, f := range p.fields {
		if skipOnce && f.once {
			dest[i] = nil
			continue
		}
		fv := v.FieldByIndex(f.index)
		dest[i] = fv.Addr().Interface()
		if f.outer && fv.Kind() != reflect.Pointer {
			dest[i] = orZero(dest[i])
		}
	}
}

// scanJoin runs a planned join and hands its rows to use, in the order the database gave them. On
// PostgreSQL outside a transaction, the rows are read by pgx itself (see readPgx); otherwise
// through database/sql.
//
// The rows are lent to use and reused by later reads of the same join once it returns: use copies
// out what it keeps. A once model (joined.once) is read from the first row, rows[0]; in the others
// it may be zero. A request's join rows are whole models repeated per row (about 5 KB for an
// account in 3 organizations), and they are garbage as soon as the answer is assembled.
func scanJoin[R any](ctx context.Context, s *Store, plan *joinPlan, arg any, use func(rows []R) error) error {
	b, _ := plan.buffers.Get().(*joinBuffers[R])
	if b == nil {
		b = &joinBuffers[R]{dest: make([]any, len(plan.fields))}
	}
	defer b.release(plan)
	var err error
	if pool, ok := s.db.Statement.ConnPool.(*sql.DB); ok && s.postgres {
		err = readPgx(ctx, s, pool, plan, arg, b)
	} else {
		err = readSQL(ctx, s, plan, arg, b)
	}
	if err != nil {
		return err
	}
	return use(b.rows)
}

// firstRow runs a planned read of at most one row and returns a copy of it; false when there is none.
func firstRow[R any](ctx context.Context, s *Store, plan *joinPlan, arg any) (R, bool, error) {
	var row R
	found := false
	err := scanJoin(ctx, s, plan, arg, func(rows []R) error {
		if len(rows) > 0 {
			row, found = rows[0], true
		}
		return nil
	})
	return row, found, err
}

// joinBuffers are the row structs of a join's read and the destinations of their columns.
type joinBuffers[R any] struct {
	rows []R
	dest []any
}

// maxPooledRows bounds the rows a read's buffers keep for the next: the rare account in many
// organizations gets buffers of its own.
const maxPooledRows = 16

// release clears the buffers (no model outlives its read in them) and pools them for plan's next read.
func (b *joinBuffers[R]) release(plan *joinPlan) {
	if cap(b.rows) > maxPooledRows {
		return
	}
	clear(b.rows[:cap(b.rows)]) // a retried read may have left more rows than it returned
	clear(b.dest)
	b.rows = b.rows[:0]
	plan.buffers.Put(b)
}

// readSQL reads a planned join into b through database/sql.
func readSQL[R any](ctx context.Context, s *Store, plan *joinPlan, arg any, b *joinBuffers[R]) error {
	rows, err := s.queryRows(ctx, plan.table, plan.query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		b.rows = append(b.rows, *new(R))
		if err := plan.scan(rows, &b.rows[len(b.rows)-1], b.dest); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryRows runs one read past GORM, straight on its connection pool (or transaction): for the
// queries authentication makes on every request, GORM's statement building and callbacks cost more
// than the query itself. query uses ? placeholders, rewritten to $n on PostgreSQL once per query.
func (s *Store) queryRows(ctx context.Context, table string, q *rawQuery, args ...any) (*sql.Rows, error) {
	if s.onQuery != nil {
		s.onQuery(table)
	}
	text := q.sqlite
	if s.postgres {
		text = q.postgres
	}
	return s.db.Statement.ConnPool.QueryContext(ctx, text, args...)
}

// rawQuery is a query's text for each engine.
type rawQuery struct {
	sqlite, postgres string
}

// newRawQuery numbers the ? placeholders of query for PostgreSQL. query must hold no other ?.
func newRawQuery(query string) *rawQuery {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return &rawQuery{sqlite: query, postgres: b.String()}
}
