package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestTransactionsHoldExclusive: every transaction must hold db.exclusive
// for reading (doc.go), or scrub could erase a page it is still reading.
// Only db.view and db.update (and scrub itself) may begin one on the bbolt
// handle; this reads the package's source and fails on any other call of
// View, Update, Batch or Begin on db.bolt.
func TestTransactionsHoldExclusive(t *testing.T) {
	allowed := map[string]bool{"scrub.go": true, "full.go": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || allowed[name] {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch sel.Sel.Name {
			case "View", "Update", "Batch", "Begin":
			default:
				return true
			}
			if field, ok := sel.X.(*ast.SelectorExpr); ok && field.Sel.Name == "bolt" {
				t.Errorf("%s: %s on the bbolt handle directly: use db.view or db.update, which hold db.exclusive", fset.Position(call.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("read only %d source files: is the test in the store package's directory?", checked)
	}
}
