// Package catalog ships alerts.yaml, the catalog of common alerts that
// `medic packs coverage` measures the installed packs against, inside the
// medic binary. internal/coverage parses and checks it.
package catalog

import _ "embed"

// AlertsYAML is catalog/alerts.yaml as committed.
//
//go:embed alerts.yaml
var AlertsYAML []byte

// Name is how problems in the embedded catalog name it.
const Name = "catalog/alerts.yaml"
