package codeshape_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// root is the repository, seen from this package's folder.
const root = "../../.."

// maxLines is the most lines a production function may span, from its
// func keyword to its closing brace: past that, it is split into named
// steps that read top-down.
const maxLines = 60

// longAllowed are the functions still over maxLines, by package and name,
// while their owners split them. An entry that is no longer long fails the
// test, so that the list only shrinks; it is empty once they have landed.
var longAllowed = []string{}

func TestNoLongFunctions(t *testing.T) {
	lengths := functionLengths(t)
	for _, name := range slices.Sorted(maps.Keys(lengths)) {
		n := lengths[name]
		allowed := slices.Contains(longAllowed, name)
		switch {
		case n > maxLines && !allowed:
			t.Errorf("%s spans %d lines, more than %d: split it into named steps", name, n, maxLines)
		case n <= maxLines && allowed:
			t.Errorf("%s spans %d lines now: remove it from longAllowed", name, n)
		}
	}
	for _, name := range longAllowed {
		if _, ok := lengths[name]; !ok {
			t.Errorf("longAllowed names %s, which no production file declares: remove it", name)
		}
	}
}

// functionLengths maps every function and method of the production files
// under cmd/ and internal/, named "internal/web.Hub.serve", to the lines it
// spans.
func functionLengths(tb testing.TB) map[string]int {
	tb.Helper()
	fset := token.NewFileSet()
	out := map[string]int{}
	for _, top := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				if rel == "internal/testworld" || d.Name() == "testdata" {
					return fs.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				name := filepath.ToSlash(filepath.Dir(rel)) + "." + funcName(fn)
				out[name] = fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no function found under %s: is root the repository?", root)
	}
	return out
}

// funcName is "Name" for a function, "Type.Name" for a method.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	t := fn.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	switch x := t.(type) { // a generic type's receiver is indexed
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	return fmt.Sprintf("%s.%s", t, fn.Name.Name)
}
