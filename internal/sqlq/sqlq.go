// Package sqlq holds what the SQL of both metadata stores (sqlite,
// postgres) shares beyond the statements themselves.
package sqlq

import "strings"

// Qualify prefixes each name of a comma-separated column list with alias
// and a dot, so that a store's column list (tokenColumns, userColumns)
// serves a join whose tables share column names: Qualify("t", "id, name")
// is "t.id, t.name".
func Qualify(alias, columns string) string {
	names := strings.Split(columns, ",")
	for i, n := range names {
		names[i] = alias + "." + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}
