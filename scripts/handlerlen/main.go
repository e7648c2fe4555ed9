// Command handlerlen fails when a strict handler grows past a length limit. A handler is a method
//
//	func (s *Server) X(ctx context.Context, req gen.XRequestObject) (gen.XResponseObject, error)
//
// in the given directories' non-test .go files; its length runs from the func line to the closing
// brace, inclusive. Handlers should read the principal, call the domain layer once and return a
// typed response (STYLE.md); a long one holds a flow that belongs elsewhere.
//
//	go run ./scripts/handlerlen [-max 40] [dir ...]   (default dir: server)
//
// It prints each handler over the limit as file:line and exits 1, or exits 0 when there is none;
// 2 when a file cannot be read or parsed.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("handlerlen", flag.ContinueOnError)
	flags.SetOutput(stderr)
	limit := flags.Int("max", 40, "longest handler allowed, in lines")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	dirs := flags.Args()
	if len(dirs) == 0 {
		dirs = []string{"server"}
	}
	var long []handler
	for _, dir := range dirs {
		found, err := handlers(dir)
		if err != nil {
			fmt.Fprintf(stderr, "handlerlen: %v\n", err)
			return 2
		}
		for _, h := range found {
			if h.lines > *limit {
				long = append(long, h)
			}
		}
	}
	for _, h := range long {
		fmt.Fprintf(stdout, "%s:%d: %s is %d lines (max %d)\n", h.file, h.line, h.name, h.lines, *limit)
	}
	if len(long) > 0 {
		fmt.Fprintf(stdout, "handlerlen: %d handler(s) over %d lines: move the flow out of the handler\n", len(long), *limit)
		return 1
	}
	return 0
}

// handler is one strict handler found in a file.
type handler struct {
	file  string
	line  int // of the func keyword
	name  string
	lines int // func line to closing brace, inclusive
}

// handlers lists the strict handlers of dir's non-test .go files, by file and line.
func handlers(dir string) ([]handler, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .go files", dir)
	}
	sort.Strings(files)
	fset := token.NewFileSet()
	var out []handler
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || !isHandler(fn) {
				continue
			}
			start, end := fset.Position(fn.Pos()), fset.Position(fn.End())
			out = append(out, handler{file: path, line: start.Line, name: fn.Name.Name, lines: end.Line - start.Line + 1})
		}
	}
	return out, nil
}

// isHandler reports whether fn is func (*Server) X(context.Context, gen.XRequestObject)
// (gen.XResponseObject, error).
func isHandler(fn *ast.FuncDecl) bool {
	if fn.Recv == nil || len(fn.Recv.List) != 1 {
		return false
	}
	star, ok := fn.Recv.List[0].Type.(*ast.StarExpr)
	if !ok || !isIdent(star.X, "Server") {
		return false
	}
	params, results := types(fn.Type.Params), types(fn.Type.Results)
	name := fn.Name.Name
	return len(params) == 2 && isSelector(params[0], "context", "Context") &&
		isSelector(params[1], "gen", name+"RequestObject") &&
		len(results) == 2 && isSelector(results[0], "gen", name+"ResponseObject") && isIdent(results[1], "error")
}

// types lists a field list's types, one per parameter (a, b T counts twice).
func types(fields *ast.FieldList) []ast.Expr {
	if fields == nil {
		return nil
	}
	var out []ast.Expr
	for _, f := range fields.List {
		for range max(len(f.Names), 1) {
			out = append(out, f.Type)
		}
	}
	return out
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && isIdent(sel.X, pkg) && sel.Sel.Name == name
}
