package access

import (
	"testing"

	"github.com/plansync/plansync/server"
	"github.com/plansync/plansync/shared/plan"
)

// Every collection of the plan schema has a row for every role, so a
// collection added to the schema without a decision here fails loudly.
func TestTableCoversSchema(t *testing.T) {
	roles := []server.Role{server.RoleFamily, server.RoleTeacher, server.RoleSupport, server.RoleAdmin, server.RoleInterpreter}
	for _, kind := range []plan.SpaceKind{plan.Student, plan.School} {
		for _, c := range plan.Collections(kind) {
			row, ok := plan.RoleTable(kind)[c.Name]
			if !ok {
				t.Errorf("%s/%s: no row in the role table", kind, c.Name)
				continue
			}
			for _, r := range roles {
				if _, ok := row[string(r)]; !ok {
					t.Errorf("%s/%s: no decision for %s", kind, c.Name, r)
				}
			}
			if a := row[plan.RoleAdmin]; !a.Read || a.Delete != DeleteAny {
				t.Errorf("%s/%s: admins must read and delete everything", kind, c.Name)
			}
			if !row[plan.RoleFamily].Read {
				t.Errorf("%s/%s: families read everything in their spaces", kind, c.Name)
			}
		}
	}
}
